"""The store: rounds, their units (each with its secret link), every uploaded version, the audit log.

Files are kept outside the database, under the store's folder by content hash (``files/<sha256>``); a row
names its file by that hash. Office accounts are Django's users.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

# the state of one version (and of a unit: its latest version's, or NOT_RETURNED)
CHECKING, PASSED, WARNINGS, ERRORS, UNREADABLE, NOT_RETURNED = (
    "checking", "passed", "warnings", "errors", "unreadable", "not_returned")
VERSION_STATES = [(CHECKING, "校验中"), (PASSED, "通过"), (WARNINGS, "有警告"), (ERRORS, "有错误"),
                  (UNREADABLE, "无法读取")]
# a version that may go into the summary: read and without errors
USABLE = (PASSED, WARNINGS)


class Round(models.Model):
    """One year's collection: the templates sent out and the units that must return them."""

    title = models.CharField(max_length=200)
    year = models.PositiveIntegerField()
    framework = models.CharField(max_length=100)
    manifest = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.year} {self.title}"


class Unit(models.Model):
    """A unit of a round and its upload link: only the link's sha256 is stored; the link itself is shown
    once (links.csv, or the page that re-issues it)."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="units")
    code = models.CharField(max_length=50)
    name = models.CharField(max_length=200)
    template_file = models.CharField(max_length=300, help_text="the unit's template, relative to the round's folder")
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    link_issued_at = models.DateTimeField(null=True, blank=True)
    link_revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["round", "code"]
        constraints = [models.UniqueConstraint(fields=["round", "code"], name="unit_code_once_per_round")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Version(models.Model):
    """One upload, kept for good. ``current`` is derived, never stored: a unit's latest usable version."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="versions")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=20, choices=VERSION_STATES, default=CHECKING)
    errors = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    findings = models.JSONField(default=list)
    cell_values = models.JSONField(default=dict, blank=True, help_text="sheet!cell → the value read there")
    changed_cells = models.JSONField(default=list, blank=True, help_text="cells whose value differs from the "
                                                                        "previous readable version")
    annotated_sha256 = models.CharField(max_length=64, blank=True, default="")
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["unit", "-number"]
        constraints = [
            # a double-clicked upload is one version
            models.UniqueConstraint(fields=["round", "unit", "sha256"], name="version_content_once_per_unit"),
            models.UniqueConstraint(fields=["unit", "number"], name="version_number_once_per_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.unit.code} v{self.number} {self.state}"

    @property
    def usable(self) -> bool:
        return self.state in USABLE


class AuditEvent(models.Model):
    """Who did what, when: uploads, downloads, logins, link changes, rounds and accounts made."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=40)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    round = models.ForeignKey(Round, null=True, blank=True, on_delete=models.SET_NULL)
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.SET_NULL)
    version = models.ForeignKey(Version, null=True, blank=True, on_delete=models.SET_NULL)
    address = models.CharField(max_length=64, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind}"

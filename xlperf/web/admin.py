"""The back-office (/admin/, office accounts): the store's rows to look through; uploads are never edited."""
from django.contrib import admin

from .models import AuditEvent, Round, Unit, Version


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Round)
class RoundAdmin(ReadOnly):
    list_display = ("id", "title", "year", "framework", "created_at")


@admin.register(Unit)
class UnitAdmin(ReadOnly):
    list_display = ("code", "name", "round", "link_issued_at", "link_revoked_at")
    list_filter = ("round",)
    search_fields = ("code", "name")
    exclude = ("token_hash",)


@admin.register(Version)
class VersionAdmin(ReadOnly):
    list_display = ("unit", "number", "state", "errors", "warnings", "original_name", "uploaded_at")
    list_filter = ("state", "round")
    search_fields = ("unit__code", "unit__name", "sha256")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly):
    list_display = ("at", "kind", "user", "unit", "version", "address")
    list_filter = ("kind",)

"""Logins, logouts and failed logins go to the audit log (uploads, downloads and link changes are written
where they happen)."""
from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver


def client_address(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "")[:64] if request is not None else ""


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    from .store import audit

    audit("login", user=user, address=client_address(request))


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    from .store import audit

    audit("logout", user=user, address=client_address(request))


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    from .store import audit

    audit("login_failed", address=client_address(request), account=str(credentials.get("username", ""))[:150])

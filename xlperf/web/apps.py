from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "xlperf.web"
    label = "portal"
    verbose_name = "xlperf 绩效目标报送"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import audit  # noqa: F401 - logins and failed logins go to the audit log

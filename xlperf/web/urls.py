"""The portal's addresses."""
urlpatterns: list = []

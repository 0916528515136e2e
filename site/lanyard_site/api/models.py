"""Personal API tokens. Only a token's SHA-256 is stored: the token itself is shown once,
when it is made, and a leaked table names no usable token. (A fast hash is right here: the
tokens are 256 random bits, not passwords a dictionary could guess.)"""

from django.db import models


class ApiToken(models.Model):
    person = models.ForeignKey("events.Person", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)  # hex SHA-256 of the token
    prefix = models.CharField(max_length=12)  # the token's first characters, to tell tokens apart
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_token"
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

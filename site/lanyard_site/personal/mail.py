"""The site's emails (welcome, password reset) through the digests' own transport:
the maildir outbox by default, the SMTP relay of ``LANYARD_MAIL_URL`` in production."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse

from digest.delivery.transports import DeliveryError, make_transport

from ..events.models import Person


class TransportEmailBackend(BaseEmailBackend):
    """EMAIL_BACKEND: every Django email goes through ``digest.delivery.transports``."""

    def send_messages(self, email_messages) -> int:
        if not email_messages:
            return 0
        transport = make_transport(settings.LANYARD)
        sent = 0
        try:
            for message in email_messages:
                data = message.message().as_bytes(linesep="\r\n")
                try:
                    for recipient in message.recipients():
                        transport.send(sender=message.from_email, recipient=recipient, message=data)
                except DeliveryError:
                    if not self.fail_silently:
                        raise
                    continue
                sent += 1
        finally:
            transport.close()
        return sent


def welcome_send(*, person: Person, email: str) -> None:
    base = settings.LANYARD.site.base_url
    send_mail(
        "Welcome to lanyard",
        f"Hello {person.name},\n\nyour lanyard account is ready: {base}{reverse('person', args=[person.handle])}\n"
        f"Follow people and their events come to your calendar ({base}{reverse('calendar')}) and to your "
        f"digest, if you chose one (change it on {base}{reverse('profile')}).\n",
        None,
        [email],
    )

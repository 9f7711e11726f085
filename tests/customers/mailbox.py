"""Reading what Django's file-based email backend wrote."""

from __future__ import annotations

from pathlib import Path


def read_mailbox(mailbox: Path) -> str:
    """Headers and decoded bodies of every message the file backend wrote."""
    import email

    texts = []
    for path in sorted(mailbox.glob("*")):
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                message = email.message_from_string(chunk.strip())
                body = message.get_payload(decode=True) or b""
                texts.append(f"To: {message['To']}\n{body.decode()}")
    return "\n".join(texts)

"""An SMTP server on loopback for njord-alert's email tests (aiosmtpd), with TLS and a login.

    smtp_server.py MODE PORT CERT KEY USER PASSWORD

MODE is `starttls` (STARTTLS required before anything else) or `tls` (TLS from the first
byte). Authentication is required. Each message is printed with its envelope, whether it
came over TLS and who logged in, then `END MESSAGE`; `READY` is printed once it listens.
"""

import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

mode, port, cert, key, user, password = sys.argv[1:7]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        print(f"MAIL FROM {envelope.mail_from}")
        print(f"RCPT TO {','.join(envelope.rcpt_tos)}")
        # After STARTTLS the session holds the TLS state; TLS from the first byte is the
        # transport's.
        wrapped = server.transport.get_extra_info("ssl_object") is not None
        print(f"TLS {session.ssl is not None or wrapped}")
        login = session.auth_data.login.decode() if session.authenticated else None
        print(f"LOGIN {login}")
        print(envelope.content.decode("utf-8", "replace"))
        print("END MESSAGE", flush=True)
        return "250 OK"


def authenticate(server, session, envelope, mechanism, data):
    ok = (
        isinstance(data, LoginPassword)
        and data.login.decode() == user
        and data.password.decode() == password
    )
    return AuthResult(success=ok, auth_data=data)


common = dict(
    hostname="127.0.0.1",
    port=int(port),
    authenticator=authenticate,
    auth_required=True,
)
if mode == "starttls":
    server = Controller(Handler(), tls_context=context, require_starttls=True, **common)
else:
    # TLS wraps the whole connection, so the login is already protected.
    server = Controller(Handler(), ssl_context=context, auth_require_tls=False, **common)
server.start()
print("READY", flush=True)
threading.Event().wait()

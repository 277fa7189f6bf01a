"""What the console says about logging in and out, in one place for its translation.

Each entry is a ``str.format`` template; the console fills in the fields named in braces.
"""

from __future__ import annotations

LOGIN_FAILED = "Unknown username or wrong password."
LOGGED_OUT = "You are logged out."
#: After a few failed log-ins: the next attempt must wait a little.
BACKOFF = "Too many failed log-ins. Wait {seconds} s before trying again."
#: After many failed log-ins for one account, from any address.
LOCKED_ACCOUNT = (
    "This account is locked after too many failed log-ins. Try again after {until} "
    "(in {minutes} min), or ask an administrator to reset the password."
)
#: After many failed log-ins from one address, whatever the account.
LOCKED_ADDRESS = (
    "Log-ins from your address are locked after too many failed attempts. "
    "Try again after {until} (in {minutes} min)."
)
#: The console's page when the database does not answer.
UNAVAILABLE = "The database is not answering right now. Try again in a few seconds."

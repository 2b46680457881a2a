"""Home delivery: the queue and runs, geocoding and routing, proof at the door, the counter
return, cash on delivery, and the outbox of messages to citizens.

Importing the package registers the outbox's flush listener (notifications.py), so that every
state change the app makes writes its message in the same transaction.
"""

from postal.delivery import notifications  # noqa: F401

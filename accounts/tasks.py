"""django-q2 tasks of accounts. Each takes ids and is safe to run twice."""

from accounts import notifications


def send_notification_email(notification_id):
    return notifications.send_email(notification_id)

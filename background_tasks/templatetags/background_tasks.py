"""Template tags of the task pages: the generic details renderer and the notification count."""
from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from ..conf import task_settings
from ..selectors import UNREAD_CAP, unread_label, unread_notifications_count

register = template.Library()


def _is_link(value) -> bool:
    return isinstance(value, str) and (value.startswith(("http://", "https://")) or value.startswith("/")) and " " not in value


def _render_value(value):
    if isinstance(value, dict):
        return details_list(value) if value else "—"
    if isinstance(value, (list, tuple)):
        if not value:
            return "—"
        return format_html('<ul class="bg-details-list">{}</ul>', format_html_join("", "<li>{}</li>", ((_render_value(v),) for v in value)))
    if _is_link(value):
        return format_html('<a href="{}">{}</a>', value, value.rsplit("/", 1)[-1] or value)
    if value is None or value == "":
        return "—"
    return format_html("{}", value)


@register.simple_tag
def details_list(details: dict):
    """Render a job's details as a definition list: keys as labels, links as links, nested as nested."""
    if not details:
        return ""
    items = ((capfirst(str(key).replace("_", " ")), _render_value(value)) for key, value in details.items())
    return format_html('<dl class="bg-details-dl">{}</dl>', format_html_join("", "<dt>{}</dt><dd>{}</dd>", items))


@register.simple_tag
def notifications_link():
    """Link to the unread failure notifications, with their count."""
    unread = unread_notifications_count()
    url = reverse("admin:background_tasks_adminnotification_changelist") + "?read_at__isempty=1"
    poll_seconds = task_settings.UNREAD_POLL_SECONDS
    return format_html(
        '<a href="{}" class="bg-notifications{}" id="bg-notifications" data-count-url="{}" data-poll-ms="{}">'
        'Notifications <span class="bg-unread">{}</span></a>',
        url,
        " bg-has-unread" if unread else "",
        reverse("background-task-unread-count"),
        int(poll_seconds * 1000),
        unread_label(unread, UNREAD_CAP),
    )

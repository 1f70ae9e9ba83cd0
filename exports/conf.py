"""Settings of the exports app (``EXPORTS_*``), with their defaults in one place."""
from background_tasks.conf import AppSettings

exports_settings = AppSettings(
    prefix="EXPORTS_",
    defaults={
        # Hours an export file is kept before the purge deletes it (the job keeps its record).
        "RETENTION_HOURS": 72,
        # The <link> of the XML feed's channel.
        "FEED_LINK": "https://letzshop.lu/",
    },
)

"""DemoJob: a job whose length, failure and warnings the test chooses."""
from django.db import models

from background_tasks.models import BackgroundTask
from background_tasks.services import JobFailed, Outcome


class DemoJob(BackgroundTask):
    """Walks ``steps`` steps, reporting progress at each; fails at ``fail_at_step`` if set."""

    task_type = "demo_job"

    steps = models.PositiveSmallIntegerField(default=5)
    fail_at_step = models.PositiveSmallIntegerField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    steps_done = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta(BackgroundTask.Meta):
        verbose_name = "demo job"

    def execute(self, progress):
        for step in range(self.steps):
            if self.fail_at_step is not None and step == self.fail_at_step:
                raise JobFailed(f"Step {step + 1} broke: the demo job was told to fail here")
            progress(step * 100 // self.steps, f"Step {step + 1} of {self.steps}", force=True)
            self.steps_done = step + 1
            self.save(update_fields=["steps_done"])
        return Outcome(warnings=list(self.warnings), message=f"{self.steps_done} steps done")

    def get_details(self) -> dict:
        return {
            "steps_done": self.steps_done,
            "warnings": list(self.warnings),
            "report": f"/admin/testapp/demojob/{self.pk}/change/",
        }

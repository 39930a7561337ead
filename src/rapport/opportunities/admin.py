from django.contrib import admin

from rapport.opportunities.models import Pipeline, Stage


class StageInline(admin.TabularInline[Stage, Pipeline]):
    model = Stage
    extra = 1
    fields = ("position", "name", "probability", "outcome")


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin[Pipeline]):
    list_display = ("name", "is_default")
    inlines = [StageInline]

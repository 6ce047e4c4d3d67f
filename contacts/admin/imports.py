from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from contacts.models import ImportJob
from contacts.services.import_files import FIELDS, ImportFileError
from contacts.services.imports import check_import_file, create_import_job, start_import
from contacts.services.phones import is_country_code


class ImportUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV (UTF-8, Windows-1252 or Latin-1; comma, semicolon or tab) or XLSX")
    source = forms.CharField(max_length=100, required=False, help_text="e.g. dealer-lyon-2026-11")
    default_country = forms.CharField(
        max_length=2, required=False, help_text="ISO code for numbers written without a prefix, e.g. FR"
    )
    mapping = forms.CharField(
        required=False,
        help_text=f"Only if the headers are not recognised: Column=field,… Fields: {', '.join(FIELDS)}",
    )

    def clean_default_country(self):
        value = self.cleaned_data["default_country"].strip().upper()
        if value and not is_country_code(value):
            raise forms.ValidationError("An ISO 3166-1 alpha-2 code such as FR.")
        return value


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "original_name",
        "source",
        "status",
        "progress_bar",
        "rows_total",
        "rows_created",
        "rows_updated",
        "rows_duplicate",
        "rows_rejected",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "source"]
    search_fields = ["original_name", "source"]
    list_select_related = ["created_by"]
    # Not the stored file's name (a server path), nor the report files themselves: media is not
    # served, and the reports hold personal data.
    readonly_fields = [
        f.name for f in ImportJob._meta.fields if f.name not in ("file", "report", "outcomes")
    ] + [
        "report_link",
        "outcomes_link",
    ]
    exclude = ["file", "report", "outcomes"]

    @admin.display(description="progress")
    def progress_bar(self, obj):
        return format_html('<progress max="100" value="{}"></progress> {}%', obj.progress, obj.progress)

    # The API's downloads (session-authenticated from the admin): permission-checked and audited
    # as bulk access to personal data. The files' own /media/ URLs are served by nothing.
    @admin.display(description="rejected rows (CSV)")
    def report_link(self, obj):
        url = reverse("import-job-report", args=[obj.pk])
        return format_html('<a href="{}">download</a>', url) if obj.report else "—"

    @admin.display(description="outcome of every row (CSV)")
    def outcomes_link(self, obj):
        url = reverse("import-job-outcomes", args=[obj.pk])
        return format_html('<a href="{}">download</a>', url) if obj.outcomes else "—"

    def has_add_permission(self, request):
        return False  # jobs are created by the upload form below, never typed in

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="contacts_importjob_upload"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_upload": request.user.has_perm("contacts.add_importjob"),
        }
        return super().changelist_view(request, extra_context)

    def upload_view(self, request):
        if not request.user.has_perm("contacts.add_importjob"):
            raise PermissionDenied
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                check_import_file(stream=data["file"], mapping=data["mapping"])
                now = timezone.now()
                job = create_import_job(
                    actor=request.user,
                    now=now,
                    uploaded_file=data["file"],
                    original_name=data["file"].name,
                    source=data["source"],
                    default_country=data["default_country"],
                    mapping=data["mapping"],
                )
            except ImportFileError as exc:
                form.add_error("file" if "mapping" not in str(exc) else "mapping", str(exc))
            else:
                job = start_import(job=job, now=now)
                self.message_user(
                    request,
                    f"Import #{job.pk} {job.status}: {job.counts}"
                    if job.finished_at
                    else f"Import #{job.pk} queued.",
                    messages.SUCCESS if job.status != ImportJob.Status.FAILED else messages.ERROR,
                )
                return HttpResponseRedirect(reverse("admin:contacts_importjob_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a prospect file",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/contacts/importjob/upload.html", context)

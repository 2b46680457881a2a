"""The intake form: its fields as the domain's arguments, and the domain's fields back as inputs."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

OUTCOMES = ("accept", "supplement", "refuse")

# domain field (as in ValidationFailed.field and the API) -> input of the counter form
FORM_FIELDS = {
    "applicant.full_name": "full_name",
    "applicant.id_number": "id_number",
    "applicant.phone": "phone",
    "applicant.address.street": "street",
    "applicant.address.ward_code": "ward_code",
    "delivery_address.street": "delivery_street",
    "delivery_address.ward_code": "delivery_ward_code",
    "fees.postal_fee": "postal_fee",
    "fees.cod_amount": "postal_fee",
    "fees.fee": "procedure_code",
    "cccd": "cccd",
}


def form_field(domain_field: str | None) -> str:
    """The form input to show a domain error on ("form" for errors about the whole form)."""
    if not domain_field:
        return "form"
    return FORM_FIELDS.get(domain_field, domain_field)


def applicant_of(form: MultiDict) -> dict:
    return {
        "full_name": form.get("full_name", ""),
        "id_number": form.get("id_number", ""),
        "phone": form.get("phone", ""),
        "address": {"street": form.get("street", ""), "ward_code": form.get("ward_code", "")},
    }


def delivery_of(form: MultiDict) -> dict | None:
    """None means: deliver to the applicant's address."""
    if form.get("delivery_same"):
        return None
    return {"street": form.get("delivery_street", ""),
            "ward_code": form.get("delivery_ward_code", "")}


def extra_missing(form: MultiDict) -> list[str]:
    """Papers to add beyond the unticked required ones: one a line."""
    return [line.strip() for line in form.get("extra_missing", "").splitlines() if line.strip()]


def resumed(dossier) -> MultiDict:
    """The intake form filled from an earlier intake that asked for supplements: the same
    applicant, procedure, papers already presented and return method; a new intake key."""
    a = dossier.applicant
    values = MultiDict({
        "procedure_code": dossier.procedure.code if dossier.procedure else "",
        "full_name": a.full_name or "", "id_number": a.id_number or "", "phone": a.phone or "",
        "street": a.street or "", "ward_code": a.ward.code if a.ward else "",
        "return_method": dossier.return_method.value, "resumed_from": str(dossier.id),
    })
    if dossier.return_method.value == "home":
        values["delivery_street"] = dossier.delivery_street or ""
        values["delivery_ward_code"] = (dossier.delivery_ward.code if dossier.delivery_ward
                                        else "")
    for entry in dossier.documents or ():
        values.add("documents", entry.get("id") if isinstance(entry, dict) else str(entry))
    return values

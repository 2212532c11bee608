"""The portal's report form: from what a person picked on an order page to the intake's drafts, and from the
intake's problems back to the form's fields.

No rule lives here. The lines are grouped into tickets by the guide's rule (``rules.grouping``); each ticket
goes through the API's own intake (``tickets.service.file_tickets``), whose problems (same codes, same
messages) are only placed next to the control they are about. Photos are checked by content like every
upload (``console.uploads``, over ``files.content``), stored before the unit of work, and carried from one
submit to the next as signed tokens, since a browser cannot put files back into a form.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData, UploadFile

from claimdesk.files.service import StoredContent
from claimdesk.files.storage import Storage, original_key
from claimdesk.orders.detail import OrderDetail
from claimdesk.rules.catalogue import REASONS, SOLUTIONS
from claimdesk.rules.codes import Code
from claimdesk.rules.fields import ascii_int
from claimdesk.rules.grouping import Group, group_lines
from claimdesk.tickets.schemas import MAX_FILES_PER_LINE
from claimdesk.tickets.service import Draft, Evidence, Refusal, draft_ticket
from claimdesk.web.signing import sign, unsign

TICKET_PREFIX = "web-"
PHOTO_PURPOSE = "portal-report-photo"
PHOTO_TOKEN_SECONDS = 24 * 3600
# The report's form-level place for a problem that is about no one control (nothing included, say).
LINES_ANCHOR = "report-lines"

# What the form calls the fields a problem's message may start with (``products.0.amount is required.``).
_LABELS = {
    "amount": "Amount",
    "files": "Photos",
    "reason": "Reason",
    "suggested_solution": "Solution",
    "description": "Description",
    "contact_email": "Contact email",
}


def new_ticket_id() -> str:
    """A ticket id the portal makes: ``web-`` and 64 random bits (well within the contract's 64 characters)."""
    return TICKET_PREFIX + secrets.token_hex(8)


def line_field(index: int, name: str) -> str:
    """The name and id of a line's control: ``line-0-amount``."""
    return f"line-{index}-{name}"


@dataclass(frozen=True)
class KeptPhoto:
    """A photo that passed the checks and is in storage, carried to the next submit by its signed token."""

    token: str
    filename: str | None
    content: StoredContent


@dataclass
class LineInput:
    index: int
    include: bool = False
    amount: str = ""
    reason: str = ""
    solution: str = ""
    kept: list[KeptPhoto] = field(default_factory=list)
    uploads: list[UploadFile] = field(default_factory=list)


@dataclass
class ReportInput:
    """What the person typed and picked, as typed: shown again when the report is refused."""

    description: str = ""
    contact_email: str = ""
    lines: list[LineInput] = field(default_factory=list)

    def included(self) -> list[LineInput]:
        return [line for line in self.lines if line.include]


@dataclass
class FormError:
    field: str  # the id of the control
    code: str
    message: str  # beside the control
    summary: str  # in the error summary (naming the product for a line's control)
    ticket: str | None = None  # ticket_exists: the reseller's id of the ticket holding the product


@dataclass(frozen=True)
class PhotoSigner:
    """Signs and checks the tokens of kept photos: bound to one user, one order and one of its lines."""

    key: bytes
    user_id: int
    order_number: int

    def token(self, line: int, filename: str | None, content: StoredContent) -> str:
        value = {
            "u": self.user_id,
            "o": self.order_number,
            "l": line,
            "n": filename,
            "t": content.content_type,
            "s": content.size,
            "h": content.sha256,
            "k": content.thumbnail_key,
        }
        return sign(self.key, PHOTO_PURPOSE, value, max_age_seconds=PHOTO_TOKEN_SECONDS)

    def photo(self, token: str, line: int, storage: Storage) -> KeptPhoto | None:
        """The photo behind a token made for this user, order and line, still in storage; None for anything
        else (a forged, altered, expired or foreign token)."""
        value = unsign(self.key, PHOTO_PURPOSE, token)
        if value is None or (value.get("u"), value.get("o"), value.get("l")) != (self.user_id, self.order_number, line):
            return None
        sha256, content_type, size = value.get("h"), value.get("t"), value.get("s")
        filename, thumb = value.get("n"), value.get("k")
        if not (isinstance(sha256, str) and isinstance(content_type, str) and isinstance(size, int)):
            return None
        if not (filename is None or isinstance(filename, str)) or not (thumb is None or isinstance(thumb, str)):
            return None
        try:
            if not storage.exists(original_key(sha256)):
                return None
        except ValueError:  # not a content address
            return None
        return KeptPhoto(token, filename, StoredContent(content_type, size, sha256, original_key(sha256), thumb))


def read_form(
    form: FormData, order: OrderDetail, signer: PhotoSigner, storage: Storage
) -> tuple[ReportInput, list[FormError]]:
    """The form's fields for each line of ``order`` (by its position), the kept photos' tokens checked."""
    errors: list[FormError] = []

    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    report = ReportInput(description=text("description"), contact_email=text("contact_email").strip())
    for index, line in enumerate(order.lines):
        entry = LineInput(
            index=index,
            include=text(line_field(index, "include")) == "on" and line.claimable > 0,
            amount=text(line_field(index, "amount")).strip(),
            reason=text(line_field(index, "reason")),
            solution=text(line_field(index, "solution")),
        )
        for token in form.getlist(line_field(index, "kept")):
            kept = signer.photo(token, index, storage) if isinstance(token, str) else None
            if kept is None:
                errors.append(
                    _line_error(
                        order,
                        index,
                        "photos",
                        Code.INVALID_FILE,
                        "A photo attached before could not be verified; attach it again.",
                    )
                )
            else:
                entry.kept.append(kept)
        entry.uploads = [
            upload
            for upload in form.getlist(line_field(index, "photos"))
            if isinstance(upload, UploadFile) and upload.filename
        ]
        report.lines.append(entry)
    if not report.included():
        errors.append(
            FormError(
                LINES_ANCHOR,
                Code.TOO_FEW,
                "Include at least one product line: tick Include on each product you complain about.",
                "Include at least one product line: tick Include on each product you complain about.",
            )
        )
    for entry in report.included():
        if len(entry.kept) + len(entry.uploads) > MAX_FILES_PER_LINE:
            errors.append(
                _line_error(
                    order, entry.index, "photos", Code.TOO_MANY, f"At most {MAX_FILES_PER_LINE} photos per product."
                )
            )
    return report, errors


def product_name(order: OrderDetail, index: int) -> str:
    line = order.lines[index]
    return f"{line.code} (product {line.ref})" if line.code else f"Product {line.ref}"


def _line_error(
    order: OrderDetail, index: int, name: str, code: str, message: str, *, ticket: str | None = None
) -> FormError:
    return FormError(line_field(index, name), code, message, f"{product_name(order, index)}: {message}", ticket)


def photo_error(order: OrderDetail, index: int, code: str, message: str) -> FormError:
    return _line_error(order, index, "photos", code, message)


@dataclass(frozen=True)
class Planned:
    """The report as tickets: one draft per group of lines, and the groups (form line indexes per draft)."""

    drafts: list[Draft]
    groups: list[Group[tuple[str, str]]]


def _amount(text: str) -> int | str:
    number = ascii_int(text)
    return number if number is not None else text  # not a number: the intake says so (invalid_type)


async def plan(report: ReportInput, order: OrderDetail, *, allow_private_urls: bool) -> Planned:
    """The included lines grouped by the guide's rule, each group a ticket body for the intake. A field
    left empty is left out of the body, so that the intake answers ``required``."""
    included = report.included()
    groups = group_lines([(line.reason, line.solution) for line in included])
    drafts = []
    for group in groups:
        reason, solution = group.key
        body: dict[str, Any] = {"order_id": order.id, "id": new_ticket_id()}
        if report.description.strip():
            body["description"] = report.description
        if reason:
            body["reason"] = reason
        if solution:
            body["suggested_solution"] = solution
        if report.contact_email:
            body["contact_email"] = report.contact_email
        products = []
        evidence: dict[int, list[tuple[str | None, StoredContent]]] = {}
        for position, picked in enumerate(group.lines):
            line = included[picked]
            product: dict[str, Any] = {"id": order.lines[line.index].ref}
            if line.amount:
                product["amount"] = _amount(line.amount)
            products.append(product)
            if line.kept:
                evidence[position] = [(photo.filename, photo.content) for photo in line.kept]
        body["products"] = products
        draft = await draft_ticket(body, allow_private_urls=allow_private_urls)
        drafts.append(dataclasses.replace(draft, evidence=_frozen(evidence)))
    # Groups name the form's lines, not the positions among the included ones.
    form_groups = [Group(group.key, tuple(included[i].index for i in group.lines)) for group in groups]
    return Planned(drafts, form_groups)


def _frozen(evidence: Mapping[int, Sequence[tuple[str | None, StoredContent]]]) -> Evidence:
    return {position: tuple(files) for position, files in evidence.items()}


def relabel(message: str, loc: str, label: str) -> str:
    """``products.0.amount is required.`` -> ``Amount is required.``: the API's message, named as the form
    names the field."""
    return label + message[len(loc) :] if message.startswith(loc) else message


def refusal_errors(refusals: Sequence[Refusal], planned: Planned, order: OrderDetail) -> list[FormError]:
    """Each problem of the intake at the control it is about: a line's amount, reason, solution or photos,
    or the report's description and contact (shown once, though each ticket of the report had it)."""
    errors: list[FormError] = []
    seen: set[tuple[str, str]] = set()

    def add(error: FormError) -> None:
        if (error.field, error.message) not in seen:
            seen.add((error.field, error.message))
            errors.append(error)

    for refusal in refusals:
        problem = refusal.problem
        lines = planned.groups[refusal.draft].lines
        parts = problem.loc.split(".")
        top = parts[0]
        ticket = refusal.holder.external_id if refusal.holder is not None else None
        if top == "products" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(lines):
            index = lines[int(parts[1])]
            name = parts[2] if len(parts) > 2 else "id"
            control = {"amount": "amount", "files": "photos"}.get(name, "include")
            message = relabel(problem.message, problem.loc, _LABELS.get(name, "Product"))
            add(_line_error(order, index, control, problem.code, message, ticket=ticket))
        elif top in ("reason", "suggested_solution"):
            control = "reason" if top == "reason" else "solution"
            message = relabel(problem.message, problem.loc, _LABELS[top])
            for index in lines:
                add(_line_error(order, index, control, problem.code, message))
        elif top in ("description", "contact_email"):
            message = relabel(problem.message, problem.loc, _LABELS[top])
            add(FormError(top, problem.code, message, message))
        else:  # order_id, id, products as a whole: about the report, not one control
            add(FormError(LINES_ANCHOR, problem.code, problem.message, problem.message))
    return errors


def by_field(errors: Sequence[FormError]) -> dict[str, list[FormError]]:
    """The errors of each control, to show beside it."""
    found: dict[str, list[FormError]] = {}
    for error in errors:
        found.setdefault(error.field, []).append(error)
    return found


def choices() -> dict[str, Any]:
    """The catalogue as the form offers it: every reason with its explanation and whether photos are
    required, every solution with its explanation."""
    reasons = [
        {"value": r.value, "label": i.label, "explanation": i.explanation, "files_required": i.files_required}
        for r, i in REASONS.items()
    ]
    solutions = [{"value": s.value, "label": i.label, "explanation": i.explanation} for s, i in SOLUTIONS.items()]
    return {
        "reasons": reasons,
        "solutions": solutions,
        "reason_info": {r["value"]: r for r in reasons},
        "solution_info": {s["value"]: s for s in solutions},
        "reason_labels": {r.value: i.label for r, i in REASONS.items()},
        "solution_labels": {s.value: i.label for s, i in SOLUTIONS.items()},
    }

"""Problems from the services as a form's errors."""

from __future__ import annotations

from claimdesk.rules.codes import Code
from claimdesk.rules.problems import Problem
from claimdesk.web.forms import errors_by_field, field_id, form_errors


def test_field_ids_from_locations() -> None:
    assert field_id("products.0.amount") == "products-0-amount"
    assert field_id("contact_email") == "contact_email"
    assert field_id('x"><script>') == "x-script"
    assert field_id("") == "form"


def test_errors_keep_order_codes_and_messages() -> None:
    problems = [
        Problem("products.0.files", Code.FILES_REQUIRED, "Photos are needed."),
        Problem("contact_email", Code.CUSTOMER_EMAIL_GIVEN, "Not the customer's e-mail."),
        Problem("products.0.files", Code.TOO_MANY, "At most 10."),
    ]
    errors = form_errors(problems, ids={"contact_email": "contact"})
    assert errors == [
        {"field": "products-0-files", "code": "files_required", "message": "Photos are needed."},
        {"field": "contact", "code": "customer_email_given", "message": "Not the customer's e-mail."},
        {"field": "products-0-files", "code": "too_many", "message": "At most 10."},
    ]
    assert errors_by_field(errors) == {
        "products-0-files": "Photos are needed.",
        "contact": "Not the customer's e-mail.",
    }

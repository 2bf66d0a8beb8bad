from clamor.core.errors import ConflictError, RateLimited, Term, ValidationError


def test_a_keyed_error_speaks_english_in_its_message_and_either_language_in_text() -> None:
    error = ValidationError.keyed("error.request.invalid", field="age", detail="not a number")
    assert error.message == "age: not a number"
    assert error.text("en") == "age: not a number"
    assert error.text("zh-CN") == "age：值无效（not a number）。"
    assert error.field == "age"
    assert error.to_dict() == {
        "error": "invalid",
        "message": "age: not a number",
        "field": "age",
        "key": "error.request.invalid",
    }


def test_a_wrapped_cause_is_put_in_the_same_language() -> None:
    cause = ValidationError.keyed("error.request.missing", field="title")
    error = ConflictError.keyed("error.request.invalid", field="form", detail=cause)
    assert error.message == "form: title: Field required"
    assert error.text("zh-CN") == "form：值无效（title：必须填写。）。"


def test_an_error_without_a_key_keeps_its_words() -> None:
    error = RateLimited("slow down", retry_after=5)
    assert error.text("zh-CN") == "slow down"
    assert error.retry_after == 5
    assert "key" not in error.to_dict()


def test_a_term_parameter_is_put_in_the_reader_s_language() -> None:
    error = ValidationError.keyed("error.request.invalid", field="x", detail=Term("nav.audit"))
    assert error.message == "x: Audit log"
    assert error.text("zh-CN") == "x：值无效（审计日志）。"


def test_a_rate_limit_can_be_keyed_and_say_when() -> None:
    error = RateLimited.keyed_after("error.request.missing", 30, field="password")
    assert (error.retry_after, error.text("zh-CN")) == (30, "password：必须填写。")

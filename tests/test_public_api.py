import promptlab


def test_public_api_is_pinned() -> None:
    exported = set(promptlab.__all__)
    assert all(hasattr(promptlab, name) for name in exported)
    for name in ("Backend", "GenerationConfig", "MockBackend", "load_backend", "PromptlabError", "RunResult"):
        assert name in exported


def test_every_error_derives_from_the_root() -> None:
    errors = [getattr(promptlab, n) for n in promptlab.__all__ if n.endswith("Error")]
    assert errors and all(issubclass(e, promptlab.PromptlabError) for e in errors)

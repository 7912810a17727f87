"""Hypothesis profiles for the fuzz suites: bounded and reproducible in CI, long on demand.

The "ci" profile is loaded by default (50 examples per property, derandomized, no deadline).
Run the long fuzz (5000 examples per property, random seeds) with:

    .venv/bin/pytest tests/faults --hypothesis-profile=long

Pytest's hypothesis plugin loads the profile named by --hypothesis-profile in pytest_configure,
before any test module is imported, so this module only loads "ci" when nothing else was
chosen (the current profile is still Hypothesis' "default"). When Hypothesis itself detected a
CI environment it has loaded its built-in "ci" profile; registering ours under the same name
reloads it in place.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

CI_EXAMPLES = 50

settings.register_profile(
    "ci",
    max_examples=CI_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("long", max_examples=5000, deadline=None)

if settings.get_current_profile_name() == "default":
    settings.load_profile("ci")


def budget(fraction: float, *, at_least: int = 5, **extra: object) -> settings:
    """Settings for a costly property: a share of the loaded profile's examples, whatever the profile.

    The real 220 KB page costs ~0.1 s to parse, so its properties run a fraction of the examples:
    a few seconds in "ci", a few minutes under "long".
    """
    current = settings.default
    assert current is not None
    return settings(
        current,
        max_examples=max(at_least, int(current.max_examples * fraction)),
        **extra,  # type: ignore[arg-type]
    )


# For properties marked xfail on a bug already documented: find it, don't spend minutes shrinking it.
NO_SHRINK = tuple(phase for phase in Phase if phase not in (Phase.shrink, Phase.explain))

"""Release routes: make a release, list an index's releases, read one, compare two."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from api.auth import Admin, Employee
from api.deps import ServicesDep
from api.fields import MAX_VERSION
from api.release_schemas import ReleaseCreate, ReleaseDiffOut, ReleaseFieldChange, ReleaseOut
from api.schemas import ErrorBody
from indexes.refs import check_index_name
from indexes.releases import ModelSpec, Release
from rag.errors import Conflict, IndexNotFound, InvalidInput
from rag.releases import effective_spec, new_release
from rag.wiring import Services

__all__ = ["router"]

router = APIRouter(prefix="/v1/indexes", tags=["releases"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "Unknown index or release."}}


def release_out(services: Services, release: Release, gates: dict[int, dict[str, Any]] | None = None) -> ReleaseOut:
    """The API form of ``release``, with what it answers with in this process and its gate result."""
    if gates is None:
        gates = services.release_gates.all(release.index)
    registry = services.registry
    live = registry.live_release(release.index)
    canary = registry.canary(release.index)
    spec = release.spec
    return ReleaseOut(
        index=release.index,
        number=release.number,
        version=release.version,
        follows_settings=release.follows_settings,
        prompt=spec.prompt if spec else None,
        model=spec.model if spec else None,
        settings=spec.settings if spec else None,
        effective=effective_spec(release, services.settings),
        live=live is not None and live.number == release.number,
        canary=canary is not None and canary.release == release.number,
        created_at=release.created_at,
        created_by=release.created_by,
        gate=gates.get(release.number),
    )


def _known_index(services: Services, name: str) -> None:
    check_index_name(name)
    if not services.catalog.list_versions(name):
        raise IndexNotFound(f"unknown index {name!r}")


@router.post(
    "/{name}/releases",
    response_model=ReleaseOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **_NOT_FOUND,
        409: {"model": ErrorBody, "description": "No live release to copy from and no version given."},
        422: {"model": ErrorBody, "description": "Unknown prompt (unknown_prompt) or model endpoint."},
    },
)
def create_release(name: str, body: ReleaseCreate, services: ServicesDep, principal: Admin) -> ReleaseOut:
    """Make a release: the fields given, the rest copied from the live release (an identical existing
    release is returned instead). It answers nothing until it is promoted or made the canary."""
    _known_index(services, name)
    with services.audit.action(principal, "release.create", index=name) as audited:
        model = None
        if body.model is not None:
            try:
                model = ModelSpec.model_validate(body.model.model_dump())
            except ValueError as exc:
                raise InvalidInput(
                    "invalid model: an openai model needs an endpoint and a name; extractive takes neither"
                ) from exc
        release = new_release(
            services.registry,
            services.settings,
            name,
            version=body.version,
            prompt=body.prompt,
            model=model,
            retrieval=body.settings_patch(),
            actor=principal.name,
        )
        audited.target = f"release {release.number}"
        audited.details.update(version=release.version, follows_settings=release.follows_settings)
    return release_out(services, release)


@router.get("/{name}/releases", response_model=list[ReleaseOut], responses=_NOT_FOUND)
def list_releases(name: str, services: ServicesDep, principal: Employee) -> list[ReleaseOut]:
    """Every release of an index, newest first, with the live and canary ones marked."""
    _known_index(services, name)
    gates = services.release_gates.all(name)
    return [release_out(services, r, gates) for r in services.registry.releases.list(name)]


def _flat(prefix: str, value: Any, into: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flat(f"{prefix}.{key}" if prefix else key, inner, into)
    else:
        into[prefix] = value
    return into


@router.get("/{name}/releases/diff", response_model=ReleaseDiffOut, responses=_NOT_FOUND)
def diff_releases(
    name: str,
    services: ServicesDep,
    principal: Employee,
    from_release: Annotated[int, Query(alias="from", ge=1, le=MAX_VERSION)],
    to_release: Annotated[int, Query(alias="to", ge=1, le=MAX_VERSION)],
) -> ReleaseDiffOut:
    """The fields (version, prompt, model, settings, following the settings) that differ between two releases."""
    _known_index(services, name)
    sides = []
    for number in (from_release, to_release):
        release = services.registry.releases.get(name, number)
        fields = {"version": release.version, "follows_settings": release.follows_settings}
        sides.append(_flat("", effective_spec(release, services.settings).model_dump(mode="json"), fields))
    before, after = sides
    changes = [
        ReleaseFieldChange(field=key, from_value=before.get(key), to_value=after.get(key))
        for key in sorted(set(before) | set(after), key=lambda k: (k != "version", k))
        if before.get(key) != after.get(key)
    ]
    return ReleaseDiffOut(index=name, from_release=from_release, to_release=to_release, changes=changes)


@router.get("/{name}/releases/{number}", response_model=ReleaseOut, responses=_NOT_FOUND)
def get_release(
    name: str,
    number: Annotated[int, Path(ge=1, le=MAX_VERSION, description="A release number.")],
    services: ServicesDep,
    principal: Employee,
) -> ReleaseOut:
    """One release of an index."""
    _known_index(services, name)
    return release_out(services, services.registry.releases.get(name, number))


@router.post(
    "/{name}/releases/{number}/gate",
    response_model=ReleaseOut,
    responses={
        **_NOT_FOUND,
        409: {"model": ErrorBody, "description": "No golden set configured, no live release, or it is the live one."},
    },
)
def gate_release_route(
    name: str,
    number: Annotated[int, Path(ge=1, le=MAX_VERSION, description="A release number.")],
    services: ServicesDep,
    principal: Admin,
) -> ReleaseOut:
    """Check a release against the live one on the golden set (RAG_GOLDEN_SET) and keep the result:
    retrieval scores when the index version differs, the answer diff when the prompt, model or retrieval
    settings differ (thresholds RAG_GATE_MAX_*). Runs while the request waits (one answer per golden
    question and release)."""
    from rag.evaluation.answer_diff import diff_questions
    from rag.evaluation.answer_gate import AnswerThresholds
    from rag.evaluation.golden import load_golden_set
    from rag.evaluation.release_gate import gate_release

    _known_index(services, name)
    settings = services.settings
    with services.audit.action(principal, "release.gate", index=name, target=f"release {number}") as audited:
        release = services.registry.releases.get(name, number)
        if settings.golden_set is None:
            raise Conflict("no golden set is configured: set RAG_GOLDEN_SET to gate releases")
        golden = load_golden_set(settings.golden_set)
        result = gate_release(
            release,
            assistant=services.assistant,
            registry=services.registry,
            effective=lambda r: effective_spec(r, settings),
            golden=golden,
            questions=diff_questions(golden, settings.golden_set.parent),
            thresholds=AnswerThresholds(
                max_lost_source=settings.gate_max_lost_source, max_newly_refused=settings.gate_max_newly_refused
            ),
            tolerance=settings.gate_tolerance,
        )
        services.release_gates.put(name, number, result)
        audited.details.update(passed=result["passed"], changed=result["changed"], live_release=result["live_release"])
    return release_out(services, release)

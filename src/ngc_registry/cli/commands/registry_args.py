"""The flags of `ngc registry model|model-script ...` (guide chapter 6) and the request bodies built from them.

Each metadata flag is declared once with the level it describes (the artifact, a version, or both), the kinds
that have it, and the wire field it fills; create, upload-version and update take their flags from this table.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ...errors import InvalidArgumentError
from ...refs import Target, normalize_team_name, parse_target

ARTIFACT, VERSION = "artifact", "version"
ALL_KINDS, RESOURCES_ONLY = ("models", "resources"), ("resources",)
LINK_TYPES = ("NGC", "Github", "Other")
MAX_METRICS_FILES, MAX_METRIC_ATTRIBUTES = 3, 12


@dataclass(frozen=True)
class Flag:
    options: tuple[str, ...]
    dest: str
    wire: str | None
    levels: tuple[str, ...]
    help: str
    kinds: tuple[str, ...] = ALL_KINDS
    value: str = "text"  # text | file | int | float | list | metrics
    metavar: str = "<text>"


FLAGS: list[Flag] = [
    Flag(("--application",), "application", "application", (ARTIFACT,), "Application (e.g. OBJECT_DETECTION).",
         metavar="<app>"),
    Flag(("--format",), "model_format", "modelFormat", (ARTIFACT,), "Format of the model.", metavar="<fmt>"),
    Flag(("--framework",), "framework", "framework", (ARTIFACT,), "Framework used (e.g. TensorFlow).",
         metavar="<fwk>"),
    Flag(("--precision",), "precision", "precision", (ARTIFACT,), "Precision (e.g. FP16).", metavar="<prec>"),
    Flag(("--short-desc",), "short_desc", "shortDescription", (ARTIFACT,), "Short description."),
    Flag(("--built-by",), "built_by", "builtBy", (ARTIFACT,), "Who built it."),
    Flag(("--display-name",), "display_name", "displayName", (ARTIFACT,), "Name shown in listings."),
    Flag(("--label",), "labels", "labels", (ARTIFACT,), "A label (repeatable).", value="list", metavar="<label>"),
    Flag(("--logo",), "logo", "logo", (ARTIFACT,), "URL of a logo image.", metavar="<url>"),
    Flag(("--publisher",), "publisher", "publisher", (ARTIFACT,), "Publisher."),
    Flag(("--overview-filename", "--overview-file"), "overview_file", "description", (ARTIFACT,),
         "Markdown file with the overview.", value="file", metavar="<path>"),
    Flag(("--advanced-filename",), "advanced_file", "advanced", (ARTIFACT,), "File with the advanced guide.",
         RESOURCES_ONLY, "file", "<path>"),
    Flag(("--public-dataset-name",), "dataset_name", None, (ARTIFACT,), "Name of the public dataset used."),
    Flag(("--public-dataset-link",), "dataset_link", None, (ARTIFACT,), "Link to the public dataset used.",
         metavar="<url>"),
    Flag(("--public-dataset-license",), "dataset_license", None, (ARTIFACT,), "License of the public dataset."),
    Flag(("--owner-name",), "owner_name", "ownerName", (ARTIFACT, VERSION), "Name of the owner."),
    Flag(("--performance-filename",), "performance_file", "performance", (ARTIFACT, VERSION),
         "File with performance data.", RESOURCES_ONLY, "file", "<path>"),
    Flag(("--quick-start-guide-filename",), "quick_start_file", "quickStartGuide", (ARTIFACT, VERSION),
         "File with the quick start guide.", RESOURCES_ONLY, "file", "<path>"),
    Flag(("--setup-filename",), "setup_file", "setup", (ARTIFACT, VERSION), "File with setup instructions.",
         RESOURCES_ONLY, "file", "<path>"),
    Flag(("--release-notes-filename",), "release_notes_file", "releaseNotes", (VERSION,), "File with release notes.",
         RESOURCES_ONLY, "file", "<path>"),
    Flag(("--accuracy-reached",), "accuracy", "accuracyReached", (VERSION,), "Accuracy reached.", value="float",
         metavar="<accuracy>"),
    Flag(("--batch-size",), "batch_size", "batchSize", (VERSION,), "Batch size used.", value="int", metavar="<n>"),
    Flag(("--gpu-model",), "gpu_model", "gpuModel", (VERSION,), "GPU model used."),
    Flag(("--memory-footprint",), "memory_footprint", "memoryFootprint", (VERSION,), "Memory footprint (e.g. 4GB).",
         metavar="<size>"),
    Flag(("--num-epochs",), "num_epochs", "numberOfEpochs", (VERSION,), "Number of epochs.", value="int",
         metavar="<n>"),
    Flag(("--desc",), "desc", "description", (VERSION,), "Description of the version."),
    Flag(("--link",), "link", None, (VERSION,), "Link for the version (for an update without a version: the logo).",
         metavar="<url>"),
    Flag(("--link-type",), "link_type", None, (VERSION,), f"Type of --link: {', '.join(LINK_TYPES)}.",
         metavar="<type>"),
    Flag(("--metrics-file",), "metrics_files", None, (VERSION,),
         f"JSON file with a custom metrics table (repeatable, at most {MAX_METRICS_FILES}).", value="metrics",
         metavar="<path>"),
    Flag(("--credentials-file",), "credentials_files", None, (VERSION,),
         "Newer name of --metrics-file (repeatable; counted with it).", value="metrics", metavar="<path>"),
]


def flags_for(kind: str, levels: tuple[str, ...]) -> list[Flag]:
    return [flag for flag in FLAGS if kind in flag.kinds and set(flag.levels) & set(levels)]


def add_flags(parser: argparse.ArgumentParser, kind: str, levels: tuple[str, ...]) -> None:
    for flag in flags_for(kind, levels):
        many = flag.value in ("list", "metrics")
        extra = {"choices": LINK_TYPES} if flag.dest == "link_type" else {}
        parser.add_argument(*flag.options, dest=flag.dest, metavar=flag.metavar, help=flag.help,
                            action="append" if many else "store", type=_PARSERS.get(flag.value, str), **extra)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: '{text}'") from None


def _number_or_text(text: str) -> float | str:
    """`--accuracy-reached` is a float on the wire; the guide's own example passes `FP32` (see `_accuracy`)."""
    try:
        return float(text)
    except ValueError:
        return text


_PARSERS = {"int": _int, "float": _number_or_text}


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr)


def _accuracy(value: float | str, warn) -> float | None:
    """A number goes on the wire; anything else (the guide writes `--accuracy-reached FP32`) is left out, said so."""
    if isinstance(value, float):
        return value
    warn(f"Warning: --accuracy-reached takes a number (e.g. 0.93); '{value}' is not one and is not recorded.")
    return None


def given_flags(args: argparse.Namespace, kind: str) -> list[Flag]:
    return [flag for flag in FLAGS if kind in flag.kinds and getattr(args, flag.dest, None) not in (None, [])]


def metadata_body(args: argparse.Namespace, kind: str, level: str, framework_key: str, warn=None) -> dict:
    """The wire fields for one level (artifact or version) from the flags given; file flags send the file's text."""
    body: dict = {}
    for flag in given_flags(args, kind):
        if level in flag.levels and flag.wire:
            body[framework_key if flag.wire == "framework" else flag.wire] = _wire_value(flag, getattr(args,
                                                                                                  flag.dest))
    if "accuracyReached" in body and _accuracy(body["accuracyReached"], warn or _to_stderr) is None:
        del body["accuracyReached"]
    if level == ARTIFACT:
        body.update(_dataset(args))
    else:
        body.update(_links(args))
        tables = (getattr(args, "metrics_files", None) or []) + (getattr(args, "credentials_files", None) or [])
        if tables:
            body["customMetrics"] = load_metrics_files(tables)
    return body


def _wire_value(flag: Flag, value):
    return read_text_file(value, flag.options[0]) if flag.value == "file" else value


def _dataset(args: argparse.Namespace) -> dict:
    dataset = {key: getattr(args, dest, None) for key, dest in
               (("name", "dataset_name"), ("link", "dataset_link"), ("license", "dataset_license"))}
    return {"publicDatasetUsed": {k: v for k, v in dataset.items() if v}} if any(dataset.values()) else {}


def _links(args: argparse.Namespace) -> dict:
    link, link_type = getattr(args, "link", None), getattr(args, "link_type", None)
    if link_type and not link:
        raise InvalidArgumentError("--link-type needs --link.")
    return {"otherContents": [{"key": link_type or "Other", "value": link}]} if link else {}


def read_text_file(path: str, option: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidArgumentError(f"{option}: the file '{path}' does not exist.") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise InvalidArgumentError(f"{option}: cannot read '{path}' as UTF-8 text: {reason}.") from None


def load_metrics_files(paths: list[str]) -> list[dict]:
    if len(paths) > MAX_METRICS_FILES:
        raise InvalidArgumentError(f"At most {MAX_METRICS_FILES} metrics files (--metrics-file/--credentials-file) "
                                   f"per version; {len(paths)} were given.")
    return [validate_metrics_table(_load_json(path), path) for path in paths]


def _load_json(path: str):
    text = read_text_file(path, "--metrics-file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidArgumentError(f"Invalid metrics file '{path}': not valid JSON ({err.msg} at line {err.lineno} "
                                   f"column {err.colno}).") from None


def validate_metrics_table(table, path: str) -> dict:
    """`{"name": str, "attributes": [{"key": str, "value": str|number}] (1 to 12)}`, or one clear error."""
    def invalid(reason: str) -> InvalidArgumentError:
        return InvalidArgumentError(f"Invalid metrics file '{path}': {reason}.")

    if not isinstance(table, dict):
        raise invalid('expected a JSON object {"name": ..., "attributes": [...]}')
    if not isinstance(table.get("name"), str) or not table["name"].strip():
        raise invalid('"name" must be a non-empty string')
    attributes = table.get("attributes")
    if not isinstance(attributes, list) or not 1 <= len(attributes) <= MAX_METRIC_ATTRIBUTES:
        raise invalid(f'"attributes" must be a list of 1 to {MAX_METRIC_ATTRIBUTES} key/value objects')
    for number, attribute in enumerate(attributes, 1):
        if (not isinstance(attribute, dict) or not isinstance(attribute.get("key"), str) or not attribute["key"]
                or not isinstance(attribute.get("value"), (str, int, float)) or isinstance(attribute["value"], bool)):
            raise invalid(f'attribute {number} must be {{"key": "<text>", "value": "<text>"}}')
    return {"name": table["name"], "attributes": [{"key": a["key"], "value": a["value"]} for a in attributes]}


def check_flags_fit(args: argparse.Namespace, kind: str, level: str) -> None:
    """Refuse flags that describe the other level (e.g. --batch-size on an update of the model itself)."""
    wrong = [flag.options[0] for flag in given_flags(args, kind) if level not in flag.levels
             and not (level == ARTIFACT and flag.dest == "link")]
    if wrong:
        where = "a version (<name>:<version>)" if level == ARTIFACT else "the artifact itself (no :<version>)"
        raise InvalidArgumentError(f"{', '.join(wrong)} can only be used on {where}.")


def parse_artifact_target(text: str, *, version_allowed: bool = True, version_required: bool = False) -> Target:
    """`org/[team/]name[:version]` with the team spelled as the server stores it (`team_a` is `team-a`)."""
    target = parse_target(text, version_allowed=version_allowed, version_required=version_required)
    team = normalize_team_name(target.team) if target.team else None
    return Target(target.org, team, target.name, target.version)


def add_target(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("target", metavar="<target>", help=f"{what}: <org>/[<team>/]<name>[:<version>].")

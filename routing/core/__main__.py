"""Command line of the routing core: ``python -m routing.core <command> --help``.

Commands:

- ``simulate``: the honest routing simulation on a doubly-labelled dataset (see
  ``routing.core.simulation``); prints the table, writes JSON with ``--json``.
- ``annotators``: the LLM annotators of a labels file with their agreement with the human labels.
- ``label-with-judge``: label a dataset with the local reward-model judge of models_rm and write an
  ``L.jsonl`` (for datasets that have no LLM labels).
- ``convert-hh-rlhf``: an hh-rlhf JSONL(.gz) file as ``I.jsonl.gz`` + ``L.jsonl.gz`` (generic
  schema; human labels only), without the pairs the shipped local judge was fitted on.

Errors in the inputs (missing files, bad rows, unknown label names, data that cannot give a result)
and refusals by the rules of honesty (a predictor or local judge fitted on these pairs) print one
line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

LOCAL_JUDGE = "local-judge"


class UsageError(Exception):
    """An input problem reported on one line (exit code 2)."""


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from exc
    if not values or any(not 0 < v < 1 for v in values):
        raise argparse.ArgumentTypeError(
            f"budgets must be shares strictly between 0 and 1, got {text!r}"
        )
    return values


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from exc
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1, got {text}")
    return value


def _at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from exc
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _make_embed(cache_dir: Path | None, *, progress: bool):
    from tqdm import tqdm

    from models_rm.cache import CachedEncoder, EmbeddingCache
    from models_rm.encoders import SentenceEncoder

    encoder = CachedEncoder(SentenceEncoder(), EmbeddingCache(cache_dir))

    def embed(texts):
        with tqdm(
            total=len(texts), desc="embedding", unit="text", disable=not progress, leave=False
        ) as bar:
            return encoder.encode(list(texts), progress=lambda done, _: bar.update(done - bar.n))

    embed.model_id = encoder.model_id  # type: ignore[attr-defined]
    return embed


def _load(
    args: argparse.Namespace,
    *,
    need_llm: bool,
    predictor=None,
    llm_fitted_on: frozenset[str] | None = None,
):
    """The joined dataset; ``--llm local-judge`` (absent from the labels) runs the local judge.
    The provenance checks of ``run_simulation`` run here first too, so that a refused predictor
    or judge fails before the judge spends minutes labelling."""
    from routing.core.datasets import join_dataset, load_instances, load_labels
    from routing.core.simulation import check_annotator_provenance, check_predictor_provenance

    skipped: list = []
    instances = load_instances(args.instances, skipped_empty=skipped)
    labels = load_labels(args.labels)
    llm = args.llm if need_llm else None
    use_judge = llm == LOCAL_JUDGE and LOCAL_JUDGE not in labels.llm_names
    jury = getattr(args, "jury", None)
    if use_judge and jury == "all":
        jury = None if not labels.llm_names else ",".join(labels.llm_names)
    dataset = join_dataset(
        instances=instances,
        labels=labels,
        human=args.human,
        llm=None if use_judge else llm,
        instances_path=args.instances,
        jury=jury,
        skipped_ids={identifier for identifier, _ in skipped},
    )
    if skipped:
        lines = sorted({error.line for _, error in skipped})
        print(
            f"skipped {len(lines)} instance(s) with an empty response text "
            f"(lines {', '.join(map(str, lines[:10]))}{' …' if len(lines) > 10 else ''})",
            file=sys.stderr,
        )
    if predictor is not None:
        check_predictor_provenance(
            provenance=predictor.provenance,
            instances=dataset.instances,
            allow_unverified=args.allow_unverified_predictor,
        )
    if llm_fitted_on is not None:
        check_annotator_provenance(
            fitted_on=llm_fitted_on, instances=dataset.instances, annotator=LOCAL_JUDGE
        )
    if use_judge:
        dataset = _judge(dataset, args)
    return dataset


def _judge_training_fingerprints(args: argparse.Namespace) -> frozenset[str]:
    """Fingerprints of the pairs the local judge artifact was fitted on (``judge.json``
    ``provenance.train_pair_fingerprints``, written by ``models_rm.fit_default_judge``)."""
    from models_rm.judge import DEFAULT_ARTIFACT_DIR, read_judge_config

    directory = args.judge_artifact or DEFAULT_ARTIFACT_DIR
    listed = read_judge_config(directory).get("provenance", {}).get("train_pair_fingerprints")
    if not listed:
        raise UsageError(
            f"the local judge at {directory} lists no training-pair fingerprints, so nothing "
            "shows it was not fitted on these pairs; refit it (python -m models_rm.fit_default_judge)"
        )
    return frozenset(listed)


def _judge(dataset, args: argparse.Namespace):
    from models_rm.judge import load_pairwise_judge
    from routing.core.simulation import label_with_local_judge

    judge = load_pairwise_judge(args.judge_artifact, cache_dir=args.cache_dir)
    return label_with_local_judge(
        dataset=dataset, judge=judge, name=LOCAL_JUDGE, progress=not args.quiet
    )


def command_simulate(args: argparse.Namespace) -> int:
    from routing.core.predictors import FeatureMismatchError
    from routing.core.simulation import (
        STRATEGIES,
        SimulationConfig,
        check_simulation_inputs,
        format_table,
        run_simulation,
        tag_dataset,
    )

    unknown = [name for name in args.strategies if name not in STRATEGIES]
    if unknown:
        raise UsageError(f"unknown strategy {unknown[0]!r}; known: {', '.join(STRATEGIES)}")
    predictor, label = None, ""
    if args.predictor is not None:
        from routing.core.predictors import load_predictor

        try:
            predictor = load_predictor(args.predictor)
        except ValueError as exc:
            raise UsageError(f"{args.predictor}: {str(exc).splitlines()[0]}") from exc
        cv = predictor.cross_validation
        origin = predictor.provenance.get("dataset", "unknown data")
        label = (
            f"{predictor.kind} PPM artifact {args.predictor} fitted on {origin} "
            f"(CV rho {cv.spearman:.2f}, {cv.n_rows} proxy runs); no seed set bought"
        )
    llm_fitted_on = _judge_training_fingerprints(args) if args.llm == LOCAL_JUDGE else None
    dataset = _load(args, need_llm=True, predictor=predictor, llm_fitted_on=llm_fitted_on)
    config = SimulationConfig(
        budgets=args.budgets,
        seeds=args.seeds,
        strategies=args.strategies,
        test_share=args.test_share,
        seed_share=args.seed_share,
        proxy_runs=args.proxy_runs,
        ppm_kind=args.ppm_kind,
        predictor_path=str(args.predictor) if args.predictor else None,
        l2=args.l2,
        context_messages=args.context_messages,
        llm_label=args.llm_label,
    )
    check_simulation_inputs(dataset=dataset, config=config)  # before any model loads
    embed = _make_embed(args.cache_dir, progress=not args.quiet)
    tags = None if args.no_tags else tag_dataset(dataset=dataset, embed=embed)
    try:
        report = run_simulation(
            dataset=dataset,
            embed=embed,
            config=config,
            tags=tags,
            predictor=predictor,
            predictor_label=label,
            allow_unverified_predictor=args.allow_unverified_predictor,
            llm_fitted_on=llm_fitted_on,
            progress=not args.quiet,
        )
    except FeatureMismatchError as exc:
        raise UsageError(f"--predictor {args.predictor}: {exc}") from exc
    print(format_table(report))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_json(), indent=1, default=_jsonable) + "\n")
        print(f"wrote {args.json}")
    return 0


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def command_annotators(args: argparse.Namespace) -> int:
    from routing.core.datasets import check_label_name, load_labels

    labels = load_labels(args.labels)
    check_label_name(labels=labels, name=args.human, kind="human")
    print(f"{'annotator':<40} {'agree':>6} {'ties':>5} {'null':>5}")
    for name in labels.llm_names:
        agree = decided = ties = nulls = 0
        for record in labels.records:
            human, llm = record.fields.get(args.human), record.llm.get(name)
            ties += llm == "tie"
            nulls += llm is None
            if human in ("A", "B") and llm in ("A", "B"):
                decided += 1
                agree += human == llm
        share = f"{agree / decided:.1%}" if decided else "-"
        print(f"{name:<40} {share:>6} {ties:>5} {nulls:>5}")
    return 0


def command_label_with_judge(args: argparse.Namespace) -> int:
    """Judge every labelled instance and write the labels file again with the judge's labels
    added under ``--name`` (every other field and LLM label is kept)."""
    from routing.core.datasets import LABEL_NAMES, load_labels, write_label_rows

    args.llm = None
    dataset = _judge(_load(args, need_llm=False), args)
    verdicts = dict(zip(dataset.ids, dataset.llm.tolist(), strict=True))
    rows = [
        {
            "id": record.id,
            **record.fields,
            "llm": {**record.llm, args.name: LABEL_NAMES[verdicts[record.id]]},
        }
        for record in load_labels(args.labels).records
    ]
    write_label_rows(path=args.out, rows=rows)
    agree = float((dataset.human == dataset.llm).mean())
    print(
        f"wrote {args.out}: {len(rows)} rows with {args.name!r} labels (same as human: {agree:.1%})"
    )
    return 0


def command_convert_hh_rlhf(args: argparse.Namespace) -> int:
    from models_rm.datasets import load_hh_rlhf_pairs, split_pairs
    from routing.core.datasets import convert_hh_rlhf, write_instances, write_labels

    if not args.input.is_file():
        raise UsageError(f"{args.input}: hh-rlhf file not found")
    try:
        pairs = load_hh_rlhf_pairs(args.input)
    except ValueError as exc:  # models_rm.datasets.DatasetError: bad rows, listed
        raise UsageError(str(exc).splitlines()[0]) from exc
    keep = list(range(len(pairs)))
    note = "all pairs"
    if not args.keep_judge_training:
        from models_rm.judge import DEFAULT_ARTIFACT_DIR, read_judge_config

        provenance = read_judge_config(args.judge_artifact or DEFAULT_ARTIFACT_DIR)["provenance"]
        position = {id(pair): index for index, pair in enumerate(pairs)}
        _, held_out = split_pairs(
            pairs, train_size=int(provenance["train_pairs"]), seed=int(provenance["seed"])
        )
        keep = sorted(position[id(pair)] for pair in held_out)
        note = f"the {len(keep)} pairs the local judge was not fitted on"
    kept = [
        (index, pairs[index])
        for index in keep
        if pairs[index].chosen.strip() and pairs[index].rejected.strip()
    ]
    rows, human = convert_hh_rlhf(pairs=[pair for _, pair in kept], seed=args.seed)
    for row, (index, _) in zip(rows, kept, strict=True):
        row["id"] = f"hh-{index:05d}"
        row["metadata"]["index"] = index
    instances_path = args.out_dir / "instances.jsonl.gz"
    labels_path = args.out_dir / "labels.jsonl.gz"
    write_instances(path=instances_path, rows=rows)
    write_labels(path=labels_path, ids=[row["id"] for row in rows], human=human, llm={})
    print(
        f"wrote {instances_path} and {labels_path}: {len(rows)} pairs ({note}; "
        f"{len(keep) - len(kept)} with an empty reply skipped)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m routing.core", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def data_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--instances", type=Path, required=True, help="I.jsonl(.gz), generic schema"
        )
        sub.add_argument("--labels", type=Path, required=True, help="L.jsonl(.gz)")
        sub.add_argument("--human", default="human", help="human label field (default: human)")
        sub.add_argument("--cache-dir", type=Path, default=None, help="persistent embedding cache")
        sub.add_argument(
            "--judge-artifact", type=Path, default=None, help="local judge (default: shipped)"
        )
        sub.add_argument("--quiet", action="store_true", help="no progress bars")

    sim = commands.add_parser("simulate", help="honest routing simulation")
    data_options(sim)
    sim.add_argument(
        "--llm", required=True, help=f"LLM annotator name in the labels, or {LOCAL_JUDGE}"
    )
    sim.add_argument(
        "--jury",
        default=None,
        help="other LLM judges of the labels file as the jury: comma-separated names, or 'all' "
        "for every judge but --llm (their verdicts are router signals; which label an "
        "LLM-routed item keeps is --llm-label)",
    )
    sim.add_argument(
        "--llm-label",
        default="main",
        choices=("main", "jury", "fallback", "auto"),
        help="the label an LLM-routed item keeps: the --llm judge's (main, the default), the "
        "reliability-weighted jury label of every judge (jury), the --llm judge's where "
        "decisive and the jury label elsewhere (fallback), or fallback or jury, whichever "
        "matched more human labels of a random calibration sample (auto: what a routed "
        "campaign ships)",
    )
    sim.add_argument("--budgets", type=_floats, default=(0.1, 0.25, 0.5, 0.75))
    sim.add_argument("--seeds", type=_at_least(1), default=3)
    from routing.core.simulation import STRATEGIES

    sim.add_argument("--strategies", type=_names, default=STRATEGIES, help=", ".join(STRATEGIES))
    sim.add_argument("--test-share", type=_share, default=0.3)
    sim.add_argument(
        "--seed-share",
        type=_share,
        default=0.2,
        help="seed set share of the pool (at most half the budget)",
    )
    sim.add_argument(
        "--proxy-runs", type=_at_least(2), default=48, help="proxy runs per seed-set PPM fit"
    )
    sim.add_argument("--ppm-kind", default="quadratic", choices=("linear", "quadratic", "lightgbm"))
    sim.add_argument(
        "--predictor", type=Path, default=None, help="PPM artifact fitted on another dataset"
    )
    sim.add_argument(
        "--allow-unverified-predictor",
        action="store_true",
        help="use a --predictor artifact that lists no instance fingerprints (the report says so)",
    )
    sim.add_argument("--l2", type=float, default=1.0, help="proxy Bradley–Terry head L2 penalty")
    sim.add_argument(
        "--context-messages",
        type=_at_least(0),
        default=1,
        help="conversation turns rendered before a reply",
    )
    sim.add_argument("--no-tags", action="store_true", help="leave out the zero-shot tag features")
    sim.add_argument("--json", type=Path, default=None, help="write the full report here")
    sim.set_defaults(handler=command_simulate)

    ann = commands.add_parser("annotators", help="list LLM annotators and their agreement")
    ann.add_argument("--labels", type=Path, required=True)
    ann.add_argument("--human", default="human")
    ann.set_defaults(handler=command_annotators)

    lab = commands.add_parser(
        "label-with-judge", help="write an L.jsonl labelled by the local judge"
    )
    data_options(lab)
    lab.add_argument("--out", type=Path, required=True)
    lab.add_argument("--name", default=LOCAL_JUDGE)
    lab.set_defaults(handler=command_label_with_judge)

    hh = commands.add_parser("convert-hh-rlhf", help="hh-rlhf JSONL as I.jsonl.gz + L.jsonl.gz")
    hh.add_argument("--input", type=Path, required=True)
    hh.add_argument("--out-dir", type=Path, required=True)
    hh.add_argument("--seed", type=int, default=0, help="which reply becomes A")
    hh.add_argument(
        "--keep-judge-training", action="store_true", help="keep the local judge's training pairs"
    )
    hh.add_argument("--judge-artifact", type=Path, default=None)
    hh.set_defaults(handler=command_convert_hh_rlhf)
    return parser


def main(argv: list[str] | None = None) -> int:
    from routing.core.datasets import DatasetError, LabelNameError
    from routing.core.simulation import HonestyViolation, SimulationInputError

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except DatasetError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
    except HonestyViolation as exc:
        print(f"error: refused by the rules of honesty: {exc}", file=sys.stderr)
    except (UsageError, LabelNameError, FileNotFoundError, SimulationInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

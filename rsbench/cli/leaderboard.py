"""`rsbench leaderboard`: group the result records by configuration and write the tables."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rsbench.cli.messages import print_warning
from rsbench.errors import RsbenchError


def leaderboard_command(
    results_dir: Path = typer.Option(
        Path("leaderboard/results"), "--results-dir", help="Folder of result records (one JSON per run)."
    ),
    out_dir: Path = typer.Option(
        Path("leaderboard"), "--out-dir", help="Where leaderboard.md, leaderboard.csv and leaderboard.tex go."
    ),
    profiles_dir: Path = typer.Option(
        Path("leaderboard/profiles"), "--profiles-dir",
        help="Folder of `rsbench profile --out` records, shown beside the papers' training costs (skipped if absent).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the grouped rows as JSON instead of a table."),
    plot: bool = typer.Option(True, "--plot/--no-plot", help="Also write pareto.png and .svg (needs matplotlib)."),
    ablations_dir: Path | None = typer.Option(None, "--ablations-dir", help="Grid sweeps' records, one plot per "
                                              "sweep (default: ablations/ beside --results-dir; skipped if absent)."),
    site: bool = typer.Option(True, "--site/--no-site", help="Also write the static web page <out-dir>/site/."),
) -> None:
    """Mean ± std over seeds of every configuration's recalls and costs, from the result records."""
    from rich.console import Console

    from rsbench.results.display import render_leaderboard
    from rsbench.results.leaderboard import leaderboard, leaderboard_rows
    from rsbench.results.record import SCHEMA_VERSION, load_records
    from rsbench.results.tables import write_tables
    from rsbench.runtime import check_output_folder

    check_output_folder(out_dir, "leaderboard output folder", "--out-dir")
    notes = Console(stderr=True)  # stdout stays clean for --json
    problems: list[str] = []
    newer: list[Path] = []
    records = load_records(results_dir, problems=problems, newer=newer)
    if newer:
        raise RsbenchError(f"{len(newer)} record(s) in {results_dir} were written by a newer rsbench (record schema "
                           f"above {SCHEMA_VERSION}): {', '.join(p.name for p in newer)}; upgrade rsbench, or move "
                           f"them out of --results-dir to render the others")
    for problem in problems:
        print_warning(problem, notes)
    if not records:
        raise RsbenchError(
            f"no result records in {results_dir}; run `rsbench run` first or point --results-dir at a folder of records"
        )
    from rsbench.results.leaderboard import one_per_seed

    _, repeats = one_per_seed(records)
    for record in repeats:
        print_warning(f"run {record['run_id'][:8]} repeats seed {record['seed']} of a configuration that has a "
                      f"newer record with that seed; only the newest is counted", notes)
    from rsbench.results.paper_tables import load_profile_records, render_paper_rich

    profile_problems: list[str] = []
    profiles = load_profile_records(profiles_dir, problems=profile_problems)
    for problem in profile_problems:
        print_warning(problem, notes)
    df = leaderboard(records)
    written = write_tables(df, out_dir, profiles)
    if plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            notes.print("no plot: matplotlib is not installed (pip install 'rsbench[plot]'), or pass --no-plot",
                        highlight=False)
        else:
            from rsbench.results.plot import plot_pareto

            written += plot_pareto(df, out_dir)
            ablations_dir = ablations_dir or results_dir.parent / "ablations"
            if ablations_dir.is_dir():
                from rsbench.results.plot import plot_grids

                written += plot_grids(load_records(ablations_dir, problems=[]), out_dir)
    if site:
        from rsbench.results.site import write_site

        figures = [p for p in written if p.suffix == ".png"]
        written += write_site(df, records, out_dir / "site", results_dir=results_dir, figures=figures)
    if json_out:
        typer.echo(json.dumps(leaderboard_rows(df), indent=2))
    else:
        render_leaderboard(df, Console(), markdown=str(out_dir / "leaderboard.md"))
        render_paper_rich(profiles, Console())
    notes.print(
        f"{len(records)} records, {len(df)} configurations; wrote " + ", ".join(str(p) for p in written),
        highlight=False, markup=False,
    )

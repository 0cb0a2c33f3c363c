"""``rsbench bench``: benchmarks that are commands, not tests (``gallery``: large-gallery search)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(help="Benchmarks: measured figures, printed and optionally as JSON.", no_args_is_help=True)


@app.command("gallery")
def gallery_command(
    size: int = typer.Option(100_000, "--size", help="gallery size: the real images plus synthetic distractors"),
    index: str = typer.Option("hnsw", "--index", help="exact, flat, hnsw, ivfpq or a plugin's (rsbench list index)"),
    dim: int | None = typer.Option(None, "--dim", help="embedding width (default: the model's; wider is lifted)"),
    spread: float = typer.Option(1.0, "--spread", help="distractor noise, in units of the real embeddings' std"),
    seed: int = typer.Option(0, "--seed", help="seed of the distractors and their placement"),
    option: list[str] = typer.Option(None, "--option", help="index option KEY=VALUE, e.g. ef_search=64"),
    search_option: list[str] = typer.Option(
        None, "--search-option", help="measure the built index again with KEY=VALUE (repeat for a curve), e.g. "
        "ef_search=32 or nprobe=8"
    ),
    rerank: str | None = typer.Option(
        None, "--rerank", help="also rescore each caption's top --candidates with this reranker (rsbench list "
        "reranker): its seconds and peak-memory rise"
    ),
    rerank_option: list[str] = typer.Option(None, "--rerank-option", help="reranker option KEY=VALUE, e.g. k=10"),
    candidates: int = typer.Option(100, "--candidates", help="list length each caption keeps for --rerank"),
    set_: list[str] = typer.Option(None, "--set", help="model and dataset: --set backbone.name=rsbench-tiny-vit16"),
    json_out: bool = typer.Option(False, "--json", help="print the figures as JSON"),
    out: Path | None = typer.Option(None, "--out", help="also write the figures as a record (JSON) into this folder"),
    allow_large: bool = typer.Option(False, "--allow-large", help="build a gallery even when its estimated memory "
                                                                  "exceeds this machine's RAM"),
) -> None:
    """Search a gallery of --size embeddings with an index: queries/s, recall@10 vs exact, build time, bytes."""
    from rsbench.config import parse_set
    from rsbench.errors import RsbenchError
    from rsbench.retrieval.index import make_index
    from rsbench.retrieval.index.gallery_bench import check_gallery_memory, embed_dataset, gallery_benchmark
    from rsbench.runtime import check_output_folder

    if size < 1:
        raise RsbenchError(f"--size must be positive, got {size}")
    if dim is not None and dim < 1:
        raise RsbenchError(f"--dim must be positive, got {dim}")
    check_gallery_memory(size, dim or 1, allow=allow_large, exact_width=dim is not None)
    if out is not None:
        check_output_folder(out, "benchmark record folder", "--out")
    options = parse_set(list(option or []))
    make_index(index, dim or 1, **options)  # the name, its options and faiss: errors before minutes of embedding
    reranking = None
    if rerank is not None:
        from rsbench.retrieval.rerankers import make_reranker

        if rerank == "qb-norm":
            raise RsbenchError("reranker qb-norm needs a run (its querybank is the training captions); measure "
                               "it with rsbench run --rerank qb-norm")
        reranking = (rerank, parse_set(list(rerank_option or [])))
        make_reranker(rerank, **reranking[1])  # its name and options, before the minutes of building
        if not 1 <= candidates <= size:
            raise RsbenchError(f"--candidates must be between 1 and --size ({size}), got {candidates}")
    console = Console(stderr=True)
    real = embed_dataset(list(set_ or []), console)
    width = dim or real.images.shape[1]
    check_gallery_memory(size, width, allow=allow_large)
    console.log(f"{len(real.images)} real images, {len(real.captions)} caption queries; building a {size:,} x "
                f"{width} gallery with index {index}")
    settings = [parse_set([item]) for item in search_option or []]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)  # before the minutes of building, not after
    report = gallery_benchmark(real, size, index, width, spread=spread, seed=seed, options=options,
                               search_settings=settings, rerank=reranking, candidates=candidates)
    if out is not None:
        import sys

        from rsbench.results.record import write_text_atomically
        from rsbench.retrieval.index.gallery_bench import benchmark_record

        record = benchmark_record(report, "rsbench " + " ".join(sys.argv[1:]))
        path = out / f"gallery-{index}-{size}x{width}-{record['run_id'][:8]}.json"
        write_text_atomically(path, json.dumps(record, indent=2) + "\n", overwrite=False)
        console.print(f"record: {escape(str(path))}", highlight=False, soft_wrap=True)
    if json_out:
        typer.echo(json.dumps(report, indent=2))
        return
    console.print(f"[bold]{escape(index)}[/], {size:,} x {width}: {report['queries_per_s']:,.0f} queries/s, "
                  f"recall@10 vs exact {report['recall_at_10']:.4f}, built in {report['build_seconds']:.1f} s, "
                  f"{report['index_bytes'] / 2**20:,.1f} MiB; true image in the top 10: "
                  f"{100 * report['true_match_in_top_k']['index']:.2f}% (exact "
                  f"{100 * report['true_match_in_top_k']['exact']:.2f}%)", highlight=False, soft_wrap=True)
    if report["rerank"] is not None:
        r = report["rerank"]
        console.print(f"  rerank {escape(r['reranker'])} over the top {r['candidates']}: {r['seconds']:.2f} s "
                      f"({r['queries_per_s']:,.0f} queries/s), peak memory rose "
                      f"{r['peak_rss_growth_bytes'] / 2**20:,.1f} MiB (a dense matrix: "
                      f"{r['dense_matrix_bytes'] / 2**20:,.0f} MiB); "
                      f"{100 * r['lists_changed']:.1f}% of lists reordered", highlight=False, soft_wrap=True)
    for row in report["search_settings"]:
        setting = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("queries_per_s", "recall_at_10"))
        console.print(f"  {escape(setting)}: {row['queries_per_s']:,.0f} queries/s, recall@10 "
                      f"{row['recall_at_10']:.4f}", highlight=False)

//! The plot of BENCHMARKS.md's prover table: prove time against constraints, zkrollup's prover
//! and stock ark-groth16, as an SVG drawn by hand (no plotting dependency).
//!
//! ```text
//! for n in 3 7 15 16 31; do    # one JSON object each (pretty-printed), concatenated
//!     zkrollup bench --batch-size $n --depth 16 --compare-stock --samples 7 --json
//! done > prover.json
//! cargo run --release --example prover_plot -- prover.json docs/prover_vs_stock.svg
//! ```
//!
//! The committed plot's input is `docs/prover_vs_stock.json`.

use std::fmt::Write;

struct Point {
    n: u64,
    constraints: f64,
    ours: f64,
    stock: f64,
}

const W: f64 = 720.0;
const H: f64 = 440.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;

/// A round step for about `ticks` ticks up to `max`.
fn step(max: f64, ticks: f64) -> f64 {
    let raw = max / ticks;
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * p).find(|s| *s >= raw).unwrap_or(10.0 * p)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (input, output) = match args.as_slice() {
        [_, i, o] => (i, o),
        _ => anyhow::bail!("usage: prover_plot RESULTS.json OUT.svg (the outputs of `zkrollup bench --compare-stock --json`, concatenated)"),
    };
    let mut points = Vec::new();
    let text = std::fs::read_to_string(input)?;
    for (i, v) in serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>().enumerate() {
        let v = v?;
        let num = |k: &str| v[k].as_f64().ok_or_else(|| anyhow::anyhow!("result {}: no {k}", i + 1));
        points.push(Point { n: num("batch_size")? as u64, constraints: num("constraints")?, ours: num("prove_ms")?, stock: num("stock_prove_ms")? });
    }
    anyhow::ensure!(!points.is_empty(), "{input}: no results");
    points.sort_by(|a, b| a.constraints.total_cmp(&b.constraints));
    let max_x = points.iter().map(|p| p.constraints).fold(0.0, f64::max) * 1.08;
    let max_y = points.iter().map(|p| p.stock.max(p.ours)).fold(0.0, f64::max) / 1000.0 * 1.1;
    let x = |c: f64| LEFT + c / max_x * (W - LEFT - RIGHT);
    let y = |ms: f64| H - BOTTOM - ms / 1000.0 / max_y * (H - TOP - BOTTOM);

    let mut svg = String::new();
    writeln!(svg, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#)?;
    writeln!(svg, r#"<rect width="{W}" height="{H}" fill="white"/>"#)?;
    writeln!(svg, r#"<text x="{}" y="22" text-anchor="middle" font-size="15">Groth16 prove time, D = 16, against constraints (median of each)</text>"#, W / 2.0)?;
    // Axes, grid and ticks.
    let (sx, sy) = (step(max_x, 6.0), step(max_y, 6.0));
    let mut t = 0.0;
    while t <= max_x {
        writeln!(svg, r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="#e5e5e5"/><text x="{0:.1}" y="{3}" text-anchor="middle">{4}k</text>"##, x(t), TOP, H - BOTTOM, H - BOTTOM + 16.0, t / 1000.0)?;
        t += sx;
    }
    let mut t = 0.0;
    while t <= max_y {
        writeln!(svg, r##"<line x1="{0}" y1="{1:.1}" x2="{2}" y2="{1:.1}" stroke="#e5e5e5"/><text x="{3}" y="{4:.1}" text-anchor="end">{5}</text>"##, LEFT, y(t * 1000.0), W - RIGHT, LEFT - 6.0, y(t * 1000.0) + 4.0, t)?;
        t += sy;
    }
    writeln!(svg, r#"<line x1="{LEFT}" y1="{0}" x2="{1}" y2="{0}" stroke="black"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{0}" stroke="black"/>"#, H - BOTTOM, W - RIGHT)?;
    writeln!(svg, r#"<text x="{}" y="{}" text-anchor="middle">constraints</text>"#, (LEFT + W - RIGHT) / 2.0, H - 18.0)?;
    writeln!(svg, r#"<text x="18" y="{0}" text-anchor="middle" transform="rotate(-90 18 {0})">seconds</text>"#, (TOP + H - BOTTOM) / 2.0)?;
    // The two series, each point labelled: stock's with N, ours with the speedup.
    for (name, colour, pick) in [("stock ark-groth16", "#c0392b", 0), ("zkrollup", "#1f6fb2", 1)] {
        let value = |p: &Point| if pick == 0 { p.stock } else { p.ours };
        let path: Vec<String> = points.iter().map(|p| format!("{:.1},{:.1}", x(p.constraints), y(value(p)))).collect();
        writeln!(svg, r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#, path.join(" "))?;
        // Labels above their points; one that would run into its left neighbour's goes a line higher.
        let mut previous: Option<(f64, f64)> = None;
        for p in &points {
            writeln!(svg, r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"/>"#, x(p.constraints), y(value(p)))?;
            let label = if pick == 0 { format!("N = {}", p.n) } else { format!("{:.2}x", p.stock / p.ours) };
            let mut dy = -9.0;
            if let Some((px, pdy)) = previous {
                if x(p.constraints) - px < 50.0 && pdy == dy {
                    dy -= 14.0;
                }
            }
            previous = Some((x(p.constraints), dy));
            writeln!(svg, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{colour}">{label}</text>"#, x(p.constraints), y(value(p)) + dy)?;
        }
        let ly = TOP + 14.0 + 18.0 * pick as f64;
        writeln!(svg, r#"<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="{colour}" stroke-width="2"/><text x="{3}" y="{4}">{name}</text>"#, LEFT + 16.0, ly, LEFT + 40.0, LEFT + 46.0, ly + 4.0)?;
    }
    writeln!(svg, "</svg>")?;
    std::fs::write(output, svg)?;
    println!("{output}: {} sizes", points.len());
    Ok(())
}

//! A systems map drawn as SVG: factors on a ring, links as arrows. The
//! drawing is markup like the rest of the page (escaped by the template), so
//! a factor's words cannot become script. A review's map and an aggregate
//! mapping's are drawn alike.

use maud::{Markup, html};
use scir_proto::learning::v1 as learning;
use scir_proto::review::v1 as review;

use crate::forms::shown;

/// A factor to draw.
#[derive(Debug, Clone, Copy)]
pub struct Factor<'a> {
    /// Its id, unique in the map.
    pub id: &'a str,
    /// In words.
    pub label: &'a str,
    /// Its contributory-factor category.
    pub factor: i32,
}

/// A link to draw, by factor ids.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    /// The influencing factor's id.
    pub from: &'a str,
    /// The influenced factor's id.
    pub to: &'a str,
    /// How, in words.
    pub label: &'a str,
}

/// A review's systems map.
pub fn review_map(map: &review::SystemsMap) -> Markup {
    drawn(
        &map.name,
        map.nodes
            .iter()
            .map(|n| (n.id.as_str(), n.label.as_str(), n.factor)),
        map.edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.label.as_str())),
    )
}

/// An aggregate mapping's map.
pub fn aggregate_map(name: &str, map: &learning::AggregateMap) -> Markup {
    drawn(
        name,
        map.nodes
            .iter()
            .map(|n| (n.id.as_str(), n.label.as_str(), n.factor)),
        map.edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.label.as_str())),
    )
}

/// Either map's nodes (id, label, factor) and edges (from, to, label) drawn.
fn drawn<'a>(
    name: &str,
    nodes: impl Iterator<Item = (&'a str, &'a str, i32)>,
    edges: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
) -> Markup {
    let factors: Vec<Factor<'_>> = nodes
        .map(|(id, label, factor)| Factor { id, label, factor })
        .collect();
    let links: Vec<Link<'_>> = edges
        .map(|(from, to, label)| Link { from, to, label })
        .collect();
    svg(name, &factors, &links)
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 480.0;
const BOX_W: f64 = 150.0;
const BOX_H: f64 = 44.0;
/// Characters of a label a box holds; the whole label is its tooltip.
const LABEL_CHARS: usize = 22;

/// Light fills that keep dark text readable, one per kind of factor.
fn fill(factor: i32) -> &'static str {
    match factor {
        1 => "#e3f0ff",
        2 => "#fde8d7",
        3 => "#e6f4ea",
        4 => "#fff4ce",
        5 => "#f0e6fa",
        6 => "#e0f2f1",
        7 => "#fce4ec",
        _ => "#f3f6f9",
    }
}

fn clipped(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(chars - 1).collect();
        format!("{cut}…")
    }
}

/// Where each node sits: its centre on a ring (one node in the middle).
fn positions(n: usize) -> Vec<(f64, f64)> {
    let (cx, cy) = (WIDTH / 2.0, HEIGHT / 2.0);
    if n == 1 {
        return vec![(cx, cy)];
    }
    let (rx, ry) = (
        WIDTH / 2.0 - BOX_W / 2.0 - 12.0,
        HEIGHT / 2.0 - BOX_H / 2.0 - 12.0,
    );
    (0..n)
        .map(|i| {
            let angle =
                -std::f64::consts::FRAC_PI_2 + 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            (cx + rx * angle.cos(), cy + ry * angle.sin())
        })
        .collect()
}

/// The point where the line from a box's centre towards (dx, dy) leaves it.
fn edge_of_box(x: f64, y: f64, dx: f64, dy: f64) -> (f64, f64) {
    let tx = if dx == 0.0 {
        f64::INFINITY
    } else {
        (BOX_W / 2.0) / dx.abs()
    };
    let ty = if dy == 0.0 {
        f64::INFINITY
    } else {
        (BOX_H / 2.0) / dy.abs()
    };
    let t = tx.min(ty);
    (x + dx * t, y + dy * t)
}

/// The map as an SVG image, with a title and a description for assistive
/// technology (the page's tables carry the same facts as text).
pub fn svg(name: &str, factors: &[Factor<'_>], links: &[Link<'_>]) -> Markup {
    let at = positions(factors.len());
    let place = |id: &str| {
        factors
            .iter()
            .position(|n| n.id == id)
            .and_then(|i| at.get(i).copied())
    };
    let title_id = format!("map-title-{}", name.rsplit('/').next().unwrap_or("new"));
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (HEIGHT) }
            role="img" aria-labelledby=(title_id) class="map" {
            title id=(title_id) {
                "Systems map: " (factors.len()) " factors, " (links.len()) " links"
            }
            defs {
                marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse" {
                    // Closed explicitly: inline SVG is parsed as foreign
                    // content, where an unclosed element holds what follows.
                    path d="M 0 0 L 10 5 L 0 10 z" fill="#1b1f24" {}
                }
            }
            @for e in links {
                @if let (Some((x1, y1)), Some((x2, y2))) = (place(e.from), place(e.to)) {
                    @let (dx, dy) = (x2 - x1, y2 - y1);
                    @let (sx, sy) = edge_of_box(x1, y1, dx, dy);
                    @let (ex, ey) = edge_of_box(x2, y2, -dx, -dy);
                    g {
                        line x1=(format!("{sx:.1}")) y1=(format!("{sy:.1}")) x2=(format!("{ex:.1}")) y2=(format!("{ey:.1}"))
                            stroke="#1b1f24" stroke-width="1.5" marker-end="url(#arrow)" {}
                        @if !e.label.is_empty() {
                            text x=(format!("{:.1}", (sx + ex) / 2.0)) y=(format!("{:.1}", (sy + ey) / 2.0 - 4.0))
                                font-size="11" text-anchor="middle" fill="#4a5560" { (clipped(e.label, 24)) }
                        }
                    }
                }
            }
            @for (node, (x, y)) in factors.iter().zip(&at) {
                g {
                    title { (node.label) " (" (shown::<review::ContributoryFactor>(node.factor, "")) ")" }
                    rect x=(format!("{:.1}", x - BOX_W / 2.0)) y=(format!("{:.1}", y - BOX_H / 2.0))
                        width=(BOX_W) height=(BOX_H) rx="6" fill=(fill(node.factor)) stroke="#4a5560" {}
                    text x=(format!("{x:.1}")) y=(format!("{:.1}", y - 4.0)) font-size="12" text-anchor="middle" fill="#1b1f24" {
                        (clipped(node.label, LABEL_CHARS))
                    }
                    text x=(format!("{x:.1}")) y=(format!("{:.1}", y + 12.0)) font-size="10" text-anchor="middle" fill="#4a5560" {
                        (shown::<review::ContributoryFactor>(node.factor, ""))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(labels: &[&str]) -> review::SystemsMap {
        review::SystemsMap {
            name: "jurisdictions/us-wi/reviews/r/systemsMaps/m1".into(),
            nodes: labels
                .iter()
                .enumerate()
                .map(|(i, l)| review::MapNode {
                    id: format!("n{i}"),
                    label: (*l).to_owned(),
                    factor: 4,
                })
                .collect(),
            edges: vec![review::MapEdge {
                from: "n0".into(),
                to: "n1".into(),
                label: "<script>alert(1)</script>".into(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn words_in_the_map_are_text_not_markup() {
        let svg = review_map(&map(&["<img src=x onerror=alert(1)>", "Caseload"])).into_string();
        assert!(!svg.contains("<img"), "{svg}");
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;img"), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 2);
        assert_eq!(svg.matches("<line").count(), 1);
        // Every shape closed, so no text ends up inside a shape.
        assert_eq!(svg.matches("</rect>").count(), 2);
        assert_eq!(svg.matches("</line>").count(), 1);
    }

    #[test]
    fn arrows_start_and_end_at_the_boxes_edges() {
        let (x, y) = edge_of_box(100.0, 100.0, 200.0, 0.0);
        assert!((x - (100.0 + BOX_W / 2.0)).abs() < 1e-9 && (y - 100.0).abs() < 1e-9);
        let (x, y) = edge_of_box(100.0, 100.0, 0.0, -50.0);
        assert!((x - 100.0).abs() < 1e-9 && (y - (100.0 - BOX_H / 2.0)).abs() < 1e-9);
    }

    #[test]
    fn every_node_fits_the_picture() {
        for n in 1..=12 {
            for (x, y) in positions(n) {
                assert!(
                    x - BOX_W / 2.0 >= 0.0 && x + BOX_W / 2.0 <= WIDTH,
                    "{n}: {x}"
                );
                assert!(
                    y - BOX_H / 2.0 >= 0.0 && y + BOX_H / 2.0 <= HEIGHT,
                    "{n}: {y}"
                );
            }
        }
    }
}

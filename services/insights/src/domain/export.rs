//! An answer as CSV and as an SVG chart.

use std::fmt::Write as _;

use scir_proto::insights::v1::{Count, Question, Row, Table};

fn cell(c: Option<&Count>) -> String {
    match c {
        None => String::new(),
        Some(c) => c
            .value
            .map_or_else(|| "suppressed".to_owned(), |v| v.to_string()),
    }
}

fn number(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.6}")).unwrap_or_default()
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The CSV header of a table.
pub fn csv_header(table: &Table) -> String {
    let mut columns: Vec<String> = table.key_columns.iter().map(|c| csv_field(c)).collect();
    columns.extend(
        [
            "count",
            "denominator",
            "share",
            "lift",
            "implemented",
            "overdue",
        ]
        .map(str::to_owned),
    );
    if table.question == Question::CultureStanding as i32 {
        columns.extend(["members", "p25", "median", "p75", "own_percentile"].map(str::to_owned));
    }
    columns.join(",") + "\n"
}

/// One row as a CSV line; hidden counts are written as `suppressed`.
pub fn csv_row(row: &Row) -> String {
    let mut fields: Vec<String> = row.keys.iter().map(|k| csv_field(k)).collect();
    fields.push(cell(row.count.as_ref()));
    fields.push(cell(row.denominator.as_ref()));
    fields.push(number(row.share));
    fields.push(number(row.lift));
    fields.push(cell(row.implemented.as_ref()));
    fields.push(cell(row.overdue.as_ref()));
    if let Some(d) = &row.distribution {
        fields.push(cell(d.members.as_ref()));
        fields.extend([d.p25, d.median, d.p75, d.own_percentile].map(number));
    }
    fields.join(",") + "\n"
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A chart of a prevalence, trend, effectiveness, consideration status, notice
/// response, culture or co-occurrence answer: horizontal bars of
/// the share (co-occurrence: of the lift), hidden values drawn as hatched
/// placeholders labelled `suppressed`.
pub fn svg(table: &Table) -> Option<String> {
    let question = Question::try_from(table.question).ok()?;
    let (title, value): (&str, fn(&Row) -> Option<f64>) = match question {
        Question::FactorPrevalence | Question::DomainPrevalence | Question::ThemePrevalence => {
            ("Share of reviews", |r| r.share)
        }
        Question::Trend => ("Share of reviews by quarter", |r| r.share),
        Question::RecommendationEffectiveness => (
            "Result of the effect check, share of each strength's checked recommendations",
            |r| r.share,
        ),
        Question::ConsiderationEffectiveness => (
            "Result of the effect check, share of each strength's checked considerations",
            |r| r.share,
        ),
        Question::ConsiderationStatus => {
            ("Status of considerations, share of each category's", |r| {
                r.share
            })
        }
        Question::SafetyNoticeResponses => (
            "Safety notices: share of recipients (all), and of each response by days taken",
            |r| r.share,
        ),
        Question::CoOccurrence => ("Lift of factor pairs (above 1: more than chance)", |r| {
            r.lift
        }),
        Question::CultureBesideReviews => (
            "Culture (share of positive answers; response rate) beside SSIT domain prevalence, by year",
            |r| r.share,
        ),
        Question::CultureStanding => return Some(standing_svg(table)),
        _ => return None,
    };
    let rows: Vec<&Row> = table.rows.iter().take(60).collect();
    let max = rows
        .iter()
        .filter_map(|r| value(r))
        .fold(0.0f64, f64::max)
        .max(f64::EPSILON);
    let (label_w, bar_w, row_h) = (260.0, 420.0, 22.0);
    let note = (table.max_adjustment > 0).then(|| {
        format!(
            "Pooled counts perturbed by the cell key method (at most {} either way); none from 1 to {} is shown.",
            table.max_adjustment,
            table.k - 1
        )
    });
    let height = 50.0 + row_h * rows.len() as f64 + if note.is_some() { 20.0 } else { 0.0 };
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" font-family="sans-serif" font-size="12"><defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#999"/></pattern></defs><text x="10" y="24" font-size="15">{t}</text>"##,
        w = label_w + bar_w + 90.0,
        t = xml(title)
    );
    for (i, row) in rows.iter().enumerate() {
        let y = 40.0 + row_h * i as f64;
        let label = xml(&row
            .keys
            .iter()
            .filter(|k| !k.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" / "));
        let _ = write!(out, r#"<text x="10" y="{}">{label}</text>"#, y + 14.0);
        match value(row) {
            Some(v) => {
                let w = bar_w * v / max;
                let _ = write!(
                    out,
                    r##"<rect x="{label_w}" y="{y}" width="{w:.1}" height="16" fill="#3b6ea5"/><text x="{}" y="{}">{v:.2}</text>"##,
                    label_w + w + 6.0,
                    y + 13.0
                );
            }
            None => {
                let _ = write!(
                    out,
                    r##"<rect x="{label_w}" y="{y}" width="40" height="16" fill="url(#hatch)"/><text x="{}" y="{}">suppressed</text>"##,
                    label_w + 46.0,
                    y + 13.0
                );
            }
        }
    }
    if let Some(note) = note {
        let _ = write!(
            out,
            r##"<text x="10" y="{}" font-size="11" fill="#555">{}</text>"##,
            height - 10.0,
            xml(&note)
        );
    }
    out.push_str("</svg>\n");
    Some(out)
}

/// A culture standing: per year and composite, the members' middle half as
/// a band from the first to the third quartile with the median marked, and
/// the caller's own share as a dot; a hidden comparison says why.
fn standing_svg(table: &Table) -> String {
    let rows: Vec<&Row> = table.rows.iter().take(60).collect();
    let (label_w, bar_w, row_h) = (200.0, 400.0, 24.0);
    let height = 80.0 + row_h * rows.len() as f64;
    let x = |v: f64| label_w + bar_w * v.clamp(0.0, 1.0);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" font-family="sans-serif" font-size="12"><text x="10" y="24" font-size="15">Share positive among the members: middle half (band), median (line), yours (dot)</text>"##,
        w = label_w + bar_w + 140.0,
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            out,
            r##"<line x1="{x0:.1}" y1="36" x2="{x0:.1}" y2="{y1}" stroke="#ddd"/><text x="{x0:.1}" y="{y2}" text-anchor="middle" fill="#555">{p}%</text>"##,
            x0 = x(tick),
            y1 = height - 34.0,
            y2 = height - 20.0,
            p = (tick * 100.0) as i32
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = 40.0 + row_h * i as f64;
        let _ = write!(
            out,
            r#"<text x="10" y="{}">{}</text>"#,
            y + 14.0,
            xml(&row.keys.join(" / "))
        );
        let d = row.distribution.unwrap_or_default();
        match (d.p25, d.median, d.p75) {
            (Some(lo), Some(mid), Some(hi)) => {
                let _ = write!(
                    out,
                    r##"<rect x="{:.1}" y="{y}" width="{:.1}" height="16" fill="#b8cde3"/><line x1="{m:.1}" y1="{y}" x2="{m:.1}" y2="{}" stroke="#1d3f66" stroke-width="2"/>"##,
                    x(lo),
                    (x(hi) - x(lo)).max(1.0),
                    y + 16.0,
                    m = x(mid)
                );
                let members = d.members.and_then(|m| m.value).unwrap_or(0);
                let _ = write!(
                    out,
                    r#"<text x="{}" y="{}">{members} members</text>"#,
                    label_w + bar_w + 10.0,
                    y + 13.0
                );
            }
            _ => {
                let _ = write!(
                    out,
                    r##"<text x="{label_w}" y="{}" fill="#555">not compared: year not over or too few members</text>"##,
                    y + 13.0
                );
            }
        }
        if let Some(own) = row.share {
            let _ = write!(
                out,
                r##"<circle cx="{:.1}" cy="{}" r="5" fill="#c0392b"><title>yours: {:.0}%</title></circle>"##,
                x(own),
                y + 8.0,
                own * 100.0
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppressed_counts_are_written_as_such() {
        let row = Row {
            keys: vec!["a,b".into(), "c".into()],
            count: Some(Count {
                value: None,
                suppression: 1,
            }),
            denominator: Some(Count {
                value: Some(40),
                suppression: scir_proto::insights::v1::Suppression::None as i32,
            }),
            ..Default::default()
        };
        assert_eq!(csv_row(&row), "\"a,b\",c,suppressed,40,,,,\n");
    }

    #[test]
    fn charts_escape_labels_and_mark_hidden_values() {
        let table = Table {
            question: Question::ThemePrevalence as i32,
            rows: vec![
                Row {
                    keys: vec!["<x>".into()],
                    share: Some(0.5),
                    ..Default::default()
                },
                Row {
                    keys: vec!["y".into()],
                    share: None,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let svg = svg(&table).expect("chart");
        assert!(svg.starts_with("<svg") && svg.contains("&lt;x&gt;") && svg.contains("suppressed"));
        assert!(!svg.contains("perturbed"), "exact answers carry no note");
        let pooled = super::svg(&Table {
            k: 10,
            max_adjustment: 20,
            ..table.clone()
        })
        .expect("chart");
        assert!(pooled.contains("at most 20 either way") && pooled.contains("from 1 to 9"));
        for question in [Question::Recommendations, Question::Considerations] {
            assert!(
                super::svg(&Table {
                    question: question as i32,
                    ..Default::default()
                })
                .is_none()
            );
        }
    }
}

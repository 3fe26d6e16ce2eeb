//! A wave's results as CSV and as an SVG chart.

use std::fmt::Write as _;

use scir_proto::culture::v1 as pb;

fn withheld(w: i32) -> &'static str {
    match pb::Withheld::try_from(w) {
        Ok(pb::Withheld::TooFew) => "too few respondents",
        Ok(pb::Withheld::Subtraction) => "would reveal a small unit",
        _ => "",
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// One line per unit and item or composite: `unit,kind,code,positive,neutral,
/// negative,answered,respondents,invited,withheld`; a withheld unit has one
/// line, with the reason and no shares.
pub fn csv(results: &pb::SurveyResults) -> String {
    let mut out = String::from(
        "unit,kind,code,positive,neutral,negative,answered,respondents,invited,withheld\n",
    );
    for u in &results.units {
        let unit = csv_field(&u.unit);
        if u.withheld != pb::Withheld::Unspecified as i32 {
            let _ = writeln!(
                out,
                "{unit},,,,,,,,{},{}",
                u.invited,
                csv_field(withheld(u.withheld))
            );
            continue;
        }
        for (kind, scores) in [("composite", &u.composites), ("item", &u.items)] {
            for s in scores {
                let _ = writeln!(
                    out,
                    "{unit},{kind},{},{:.4},{:.4},{:.4},{},{},{},",
                    csv_field(&s.code),
                    s.positive,
                    s.neutral,
                    s.negative,
                    s.answered,
                    u.respondents,
                    u.invited
                );
            }
        }
    }
    out
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Per shown unit, a stacked bar per composite (positive, neutral,
/// negative); withheld units listed with the reason.
pub fn svg(results: &pb::SurveyResults, instrument: &pb::SurveyInstrument) -> String {
    let (label_w, bar_w, row_h) = (220.0, 400.0, 20.0);
    let title = |code: &str| {
        instrument
            .composites
            .iter()
            .find(|c| c.code == code)
            .map_or(code.to_owned(), |c| c.title.clone())
    };
    let mut body = String::new();
    let mut y = 60.0;
    for u in &results.units {
        if u.withheld != pb::Withheld::Unspecified as i32 {
            let _ = write!(
                body,
                r##"<text x="10" y="{}" font-weight="bold">{}</text><text x="{label_w}" y="{}" fill="#555">withheld: {}</text>"##,
                y + 14.0,
                xml(&u.unit),
                y + 14.0,
                withheld(u.withheld)
            );
            y += row_h + 10.0;
            continue;
        }
        let _ = write!(
            body,
            r##"<text x="10" y="{}" font-weight="bold">{} ({} of {} answered)</text>"##,
            y + 14.0,
            xml(&u.unit),
            u.respondents,
            u.invited
        );
        y += row_h + 4.0;
        for s in &u.composites {
            let _ = write!(
                body,
                r##"<text x="20" y="{}">{}</text>"##,
                y + 14.0,
                xml(&title(&s.code))
            );
            let mut x = label_w;
            for (share, colour, name) in [
                (s.positive, "#1b7837", "positive"),
                (s.neutral, "#bdbdbd", "neutral"),
                (s.negative, "#b2182b", "negative"),
            ] {
                let w = bar_w * share;
                let _ = write!(
                    body,
                    r##"<rect x="{x:.1}" y="{y}" width="{w:.1}" height="16" fill="{colour}"><title>{name} {:.0}%</title></rect>"##,
                    share * 100.0
                );
                x += w;
            }
            let _ = write!(
                body,
                r##"<text x="{}" y="{}">{:.0}% positive</text>"##,
                label_w + bar_w + 8.0,
                y + 13.0,
                s.positive * 100.0
            );
            y += row_h;
        }
        y += 10.0;
    }
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12" role="img"><title>Survey results by unit and composite</title><text x="10" y="24" font-size="15">Percent positive, neutral and negative by composite</text><text x="10" y="44" fill="#555">Units under {n} respondents, and parents that would reveal them, are withheld.</text>{body}</svg>"##,
        w = label_w + bar_w + 110.0,
        h = y + 10.0,
        n = results.min_respondents
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> pb::SurveyResults {
        let score = |code: &str| pb::Score {
            code: code.into(),
            positive: 0.5,
            neutral: 0.25,
            negative: 0.25,
            answered: 8,
        };
        pb::SurveyResults {
            wave: "w".into(),
            min_respondents: 5,
            units: vec![
                pb::UnitResult {
                    unit: "team-a".into(),
                    respondents: 8,
                    invited: 10,
                    response_rate: 0.8,
                    items: vec![score("A1")],
                    composites: vec![score("A")],
                    ..Default::default()
                },
                pb::UnitResult {
                    unit: "team-b".into(),
                    withheld: pb::Withheld::TooFew as i32,
                    invited: 3,
                    ..Default::default()
                },
            ],
        }
    }

    #[test]
    fn withheld_units_carry_the_reason_and_no_shares() {
        let text = csv(&results());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[1], "team-a,composite,A,0.5000,0.2500,0.2500,8,8,10,");
        assert_eq!(lines[3], "team-b,,,,,,,,3,too few respondents");
        let instrument = pb::SurveyInstrument {
            composites: vec![pb::Composite {
                code: "A".into(),
                title: "Speaking <up> & out".into(),
                items: vec!["A1".into()],
            }],
            ..Default::default()
        };
        let chart = svg(&results(), &instrument);
        assert!(chart.starts_with("<svg") && chart.ends_with("</svg>"));
        assert!(chart.contains("Speaking &lt;up&gt; &amp; out"));
        assert!(chart.contains("withheld: too few respondents"));
        assert!(chart.contains("50% positive"));
    }
}

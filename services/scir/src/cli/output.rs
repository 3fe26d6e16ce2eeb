//! How commands print: aligned tables and key/value blocks for people, the
//! canonical protobuf JSON mapping with `--json` for scripts; and how JSON
//! input becomes a request message.

use anyhow::Context;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};
use scir_kit::contract::pool;
use scir_proto::common::v1::Date;

fn descriptor(full_name: &str) -> anyhow::Result<MessageDescriptor> {
    pool()
        .get_message_by_name(full_name)
        .with_context(|| format!("no message {full_name} in the contracts"))
}

/// `message` (of protobuf type `full_name`) in the canonical JSON mapping.
pub fn to_json<M: prost::Message>(
    message: &M,
    full_name: &str,
) -> anyhow::Result<serde_json::Value> {
    let dynamic =
        DynamicMessage::decode(descriptor(full_name)?, message.encode_to_vec().as_slice())?;
    let options = SerializeOptions::new().skip_default_fields(true);
    Ok(dynamic.serialize_with_options(serde_json::value::Serializer, &options)?)
}

/// Messages of type `full_name` as a JSON array.
pub fn list_json<M: prost::Message>(
    messages: &[M],
    full_name: &str,
) -> anyhow::Result<serde_json::Value> {
    Ok(messages
        .iter()
        .map(|m| to_json(m, full_name))
        .collect::<anyhow::Result<Vec<_>>>()?
        .into())
}

/// Parses JSON in the canonical mapping (field names in lowerCamelCase or as
/// written in the proto, enums by name or by a deprecated alias) into a
/// message of type `full_name`.
pub fn from_json<M: prost::Message + Default>(text: &str, full_name: &str) -> anyhow::Result<M> {
    let descriptor = scir_kit::contract::input_pool()
        .get_message_by_name(full_name)
        .with_context(|| format!("no message {full_name} in the contracts"))?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let dynamic = DynamicMessage::deserialize(descriptor, &mut deserializer)?;
    deserializer.end()?;
    Ok(M::decode(dynamic.encode_to_vec().as_slice())?)
}

/// Prints a JSON value, pretty.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A date as `YYYY-MM-DD`, or `-`.
pub fn date(date: Option<&Date>) -> String {
    date.map_or_else(
        || "-".to_owned(),
        |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
    )
}

/// A table: a header row and rows of cells, printed with aligned columns.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(header: I) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, cells: I) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text, columns separated by two spaces; columns whose cells
    /// all look like numbers are right-aligned.
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let numeric: Vec<bool> = (0..columns)
            .map(|i| {
                !self.rows.is_empty()
                    && self.rows.iter().all(|r| {
                        r.get(i).is_none_or(|c| {
                            c == "-"
                                || c.trim_end_matches('%')
                                    .trim_start_matches('<')
                                    .parse::<f64>()
                                    .is_ok()
                        })
                    })
            })
            .collect();
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map_or("", String::as_str);
                let pad = width - cell.chars().count();
                if i > 0 {
                    out.push_str("  ");
                }
                if numeric[i] {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    if i + 1 < widths.len() {
                        out.push_str(&" ".repeat(pad));
                    }
                }
            }
            out.trim_end().to_owned()
        };
        let mut out = line(&self.header);
        out.push('\n');
        out.push_str(&line(
            &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
        ));
        for row in &self.rows {
            out.push('\n');
            out.push_str(&line(row));
        }
        out
    }
}

/// Key/value lines, keys aligned.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{k:width$}  {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A contract enum value's label without its enum's prefix, for tables:
/// `CONSIDERATION_STATUS_IN_PROGRESS` -> `IN_PROGRESS`; `-` for an unset or
/// unknown value.
pub fn short<T: scir_proto::Labelled + TryFrom<i32>>(value: i32) -> String {
    let (Ok(unset), Ok(v)) = (T::try_from(0), T::try_from(value)) else {
        return "-".to_owned();
    };
    if value == 0 {
        return "-".to_owned();
    }
    let prefix = unset
        .label()
        .strip_suffix("UNSPECIFIED")
        .unwrap_or_default();
    let label = v.label();
    label.strip_prefix(prefix).unwrap_or(label).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scir_proto::intake::v1 as intake;

    #[test]
    fn json_round_trips_through_the_canonical_mapping() {
        let facts = intake::IncidentFacts {
            jurisdiction: "us-wi".into(),
            incident_type: intake::IncidentType::Death as i32,
            child_age_months: Some(4),
            incident_date: Some(Date {
                year: 2025,
                month: 3,
                day: 10,
            }),
            ..Default::default()
        };
        let json = to_json(&facts, "scir.intake.v1.IncidentFacts").expect("to json");
        assert_eq!(json["incidentType"], "INCIDENT_TYPE_DEATH");
        assert_eq!(json["childAgeMonths"], 4);
        assert!(json.get("sex").is_none(), "defaults are left out");
        let back: intake::IncidentFacts =
            from_json(&json.to_string(), "scir.intake.v1.IncidentFacts").expect("from json");
        assert_eq!(back, facts);
        let old_name: intake::IncidentFacts = from_json(
            r#"{"jurisdiction": "us-wi", "incidentType": "DEATH", "childAgeMonths": 4,
                "incidentDate": {"year": 2025, "month": 3, "day": 10}}"#,
            "scir.intake.v1.IncidentFacts",
        )
        .expect("a deprecated alias reads");
        assert_eq!(old_name, facts);
    }

    #[test]
    fn unknown_fields_and_enum_names_are_refused() {
        let unknown = from_json::<intake::IncidentFacts>(
            r#"{"jurisdiction": "us-wi", "childName": "x"}"#,
            "scir.intake.v1.IncidentFacts",
        );
        assert!(unknown.is_err());
        let bad_enum = from_json::<intake::IncidentFacts>(
            r#"{"incidentType": "EXPLOSION"}"#,
            "scir.intake.v1.IncidentFacts",
        );
        assert!(bad_enum.is_err());
    }

    #[test]
    fn tables_align_text_left_and_numbers_right() {
        let mut table = Table::new(["item", "count"]);
        table.row(["SYS2", "12"]);
        table.row(["FAM1 long", "3"]);
        assert_eq!(
            table.render(),
            "item       count\n---------  -----\nSYS2          12\nFAM1 long      3"
        );
    }
}

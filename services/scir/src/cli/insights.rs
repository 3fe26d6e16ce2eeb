//! `scir insights`: ask the insights service a question and print its table.

use anyhow::Context;
use scir_proto::insights::v1 as pb;

use super::output::{self, Table};
use super::{Connection, Format};

/// A question (see docs/insights.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Question {
    /// Share of reviews with an SSIT item at or above --level.
    FactorPrevalence,
    /// The same for any item of a domain.
    DomainPrevalence,
    /// Share of reviews in which a theme appears.
    ThemePrevalence,
    /// Pairs of items at or above --level in the same review, by lift.
    CoOccurrence,
    /// Share of reviews with --code (an item or a theme) by quarter.
    Trend,
    /// Recommendations by category and strength: count, implemented, overdue.
    Recommendations,
    /// For reviews with theme --code: items and their co-occurring pairs.
    SystemsMap,
    /// Implemented recommendations checked for effect, by strength and result.
    RecommendationEffectiveness,
    /// Aggregate mappings' considerations by category and strength.
    Considerations,
    /// Considerations by category and status.
    ConsiderationStatus,
    /// Implemented considerations checked for effect, by strength and result.
    ConsiderationEffectiveness,
    /// Safety notices at their recipients: responses and days to respond.
    SafetyNoticeResponses,
    /// Culture survey composites beside SSIT domain prevalence, by year.
    Culture,
    /// Where the jurisdiction's culture stands among the members, by year.
    CultureStanding,
}

impl Question {
    fn proto(self) -> pb::Question {
        match self {
            Self::FactorPrevalence => pb::Question::FactorPrevalence,
            Self::DomainPrevalence => pb::Question::DomainPrevalence,
            Self::ThemePrevalence => pb::Question::ThemePrevalence,
            Self::CoOccurrence => pb::Question::CoOccurrence,
            Self::Trend => pb::Question::Trend,
            Self::Recommendations => pb::Question::Recommendations,
            Self::SystemsMap => pb::Question::SystemsMap,
            Self::RecommendationEffectiveness => pb::Question::RecommendationEffectiveness,
            Self::Considerations => pb::Question::Considerations,
            Self::ConsiderationStatus => pb::Question::ConsiderationStatus,
            Self::ConsiderationEffectiveness => pb::Question::ConsiderationEffectiveness,
            Self::SafetyNoticeResponses => pb::Question::SafetyNoticeResponses,
            Self::Culture => pb::Question::CultureBesideReviews,
            Self::CultureStanding => pb::Question::CultureStanding,
        }
    }
}

/// A breakdown of the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Breakdown {
    /// By cause category.
    Cause,
    /// By incident type.
    IncidentType,
    /// By race/ethnicity (a review counts under each of the child's categories).
    RaceEthnicity,
    /// By tribal status.
    TribalStatus,
    /// By child age band.
    AgeBand,
    /// By sex.
    Sex,
    /// By jurisdiction.
    Jurisdiction,
}

impl Breakdown {
    fn proto(self) -> pb::Breakdown {
        match self {
            Self::Cause => pb::Breakdown::ByCause,
            Self::IncidentType => pb::Breakdown::ByIncidentType,
            Self::RaceEthnicity => pb::Breakdown::ByRaceEthnicity,
            Self::TribalStatus => pb::Breakdown::ByTribalStatus,
            Self::AgeBand => pb::Breakdown::ByAgeBand,
            Self::Sex => pb::Breakdown::BySex,
            Self::Jurisdiction => pb::Breakdown::ByJurisdiction,
        }
    }
}

/// `scir insights ask`.
#[derive(Debug, clap::Args)]
pub struct AskArgs {
    /// The question.
    #[arg(value_enum)]
    pub question: Question,
    /// Break the rows down by a characteristic.
    #[arg(long, value_enum)]
    pub breakdown: Option<Breakdown>,
    /// SSIT level counted as present (0-3; the service's default when unset).
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..=3))]
    pub level: Option<i32>,
    /// Item code or theme name, for trend and systems-map.
    #[arg(long)]
    pub code: Option<String>,
    /// Ask the pooled partnership data (partner callers always get it).
    #[arg(long)]
    pub pooled: bool,
    /// Count final reviews only.
    #[arg(long)]
    pub finalised_only: bool,
    /// Only these jurisdictions (repeatable).
    #[arg(long = "jurisdiction")]
    pub jurisdictions: Vec<String>,
    /// How to reach the services.
    #[command(flatten)]
    pub connection: Connection,
    /// Table or JSON.
    #[command(flatten)]
    pub format: Format,
}

/// `scir insights` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum InsightsCommand {
    /// Ask a question and print the answer as a table.
    Ask(AskArgs),
}

impl AskArgs {
    /// The request these options describe.
    pub fn request(&self) -> pb::AskRequest {
        pb::AskRequest {
            question: self.question.proto() as i32,
            filters: Some(pb::Filters {
                jurisdictions: self.jurisdictions.clone(),
                finalised_only: self.finalised_only,
                ..Default::default()
            }),
            breakdown: self.breakdown.map_or(0, |b| b.proto() as i32),
            level: self.level.unwrap_or(0),
            code: self.code.clone().unwrap_or_default(),
            pooled: self.pooled,
        }
    }
}

/// Runs an `insights` subcommand.
pub async fn run(command: InsightsCommand) -> anyhow::Result<()> {
    match command {
        InsightsCommand::Ask(args) => {
            let table = args
                .connection
                .caller()?
                .insights()
                .ask(args.request())
                .await
                .context("Ask")?
                .into_inner();
            if args.format.json {
                return output::print_json(&output::to_json(&table, "scir.insights.v1.Table")?);
            }
            println!("{}", render(&table));
            Ok(())
        }
    }
}

fn count(count: Option<&pb::Count>) -> String {
    match count {
        None => "-".to_owned(),
        Some(c) => match (c.value, pb::Suppression::try_from(c.suppression)) {
            (Some(v), _) => v.to_string(),
            (None, Ok(pb::Suppression::SmallCell)) => "small".to_owned(),
            (None, Ok(pb::Suppression::Complementary)) => "hidden".to_owned(),
            (None, Ok(pb::Suppression::Differencing)) => "hidden".to_owned(),
            (None, Ok(pb::Suppression::Members)) => "not yet".to_owned(),
            (None, _) => "-".to_owned(),
        },
    }
}

/// A row's share as a percentage, or why it is not shown.
pub fn share(row: &pb::Row) -> String {
    match row.share {
        Some(s) => format!("{:.0}%", s * 100.0),
        None if row.count.as_ref().is_some_and(|c| c.value.is_none()) => count(row.count.as_ref()),
        None => "-".to_owned(),
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

/// A culture standing: the caller's own share, and the members' quartiles
/// with the caller's percentile among them.
fn render_standing(table: &pb::Table) -> String {
    let mut header = table.key_columns.clone();
    header.extend(["yours", "members", "p25", "median", "p75", "percentile"].map(str::to_owned));
    let mut out = Table::new(header);
    for row in &table.rows {
        let d = row.distribution.unwrap_or_default();
        let mut cells = row.keys.clone();
        cells.push(percent(row.share));
        cells.push(count(d.members.as_ref()));
        cells.extend([d.p25, d.median, d.p75].map(percent));
        cells.push(
            d.own_percentile
                .map_or("-".to_owned(), |p| format!("{p:.0}")),
        );
        out.row(cells);
    }
    let mut text = if out.is_empty() {
        "(no rows)".to_owned()
    } else {
        out.render()
    };
    text.push_str(&format!(
        "\n\nscope: {}\nmembers' shares come from counts perturbed by the cell key method; a year is \
         compared once it is over and at least the minimum of members surveyed (\"not yet\")",
        table.scope
    ));
    text
}

/// An answer as a table, with its population and scope underneath.
pub fn render(table: &pb::Table) -> String {
    let question = pb::Question::try_from(table.question).unwrap_or(pb::Question::Unspecified);
    if question == pb::Question::CultureStanding {
        return render_standing(table);
    }
    // Actions' tables carry implemented and overdue beside each count.
    let recommendations = matches!(
        question,
        pb::Question::Recommendations | pb::Question::Considerations
    );
    let lift = table.rows.iter().any(|r| r.lift.is_some());
    let mut header: Vec<String> = table.key_columns.clone();
    header.push("count".to_owned());
    if !recommendations {
        header.extend(["of".to_owned(), "share".to_owned()]);
    }
    if lift {
        header.push("lift".to_owned());
    }
    if recommendations {
        header.extend(["implemented".to_owned(), "overdue".to_owned()]);
    }
    let mut out = Table::new(header);
    for row in &table.rows {
        let mut cells = row.keys.clone();
        cells.push(count(row.count.as_ref()));
        if !recommendations {
            cells.push(count(row.denominator.as_ref()));
            cells.push(share(row));
        }
        if lift {
            cells.push(row.lift.map_or("-".to_owned(), |l| format!("{l:.2}")));
        }
        if recommendations {
            cells.push(count(row.implemented.as_ref()));
            cells.push(count(row.overdue.as_ref()));
        }
        out.row(cells);
    }
    let mut text = if out.is_empty() {
        "(no rows)".to_owned()
    } else {
        out.render()
    };
    text.push_str(&format!(
        "\n\n{} counted: {}   scope: {}",
        match question {
            pb::Question::Recommendations => "recommendations",
            pb::Question::RecommendationEffectiveness => "checked recommendations",
            pb::Question::Considerations | pb::Question::ConsiderationStatus => "considerations",
            pb::Question::ConsiderationEffectiveness => "checked considerations",
            pb::Question::SafetyNoticeResponses => "notices at recipients",
            _ => "reviews",
        },
        count(table.population.as_ref()),
        table.scope
    ));
    if table.max_adjustment > 0 {
        text.push_str(&format!(
            "\ncounts perturbed by the cell key method (standard deviation {:.1}, {} at most); \
             none from 1 to {} shown (\"small\")",
            table.adjustment_sd,
            table.max_adjustment,
            table.k - 1
        ));
    } else if table.k > 0 {
        text.push_str(&format!(
            "   counts from 1 to {} hidden (\"small\")",
            table.k - 1
        ));
    }
    text
}

//! `scir review`: show a review, list the overdue ones.

use anyhow::Context;
use scir_proto::Labelled;
use scir_proto::review::v1 as review;

use super::output::{self, Table, date, fields};
use super::{Connection, Format};

/// `scir review` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ReviewCommand {
    /// Show a review: stage, deadlines, team.
    Show {
        /// Resource name: jurisdictions/{jurisdiction}/reviews/{review}.
        name: String,
        /// How to reach the services.
        #[command(flatten)]
        connection: Connection,
        /// Table or JSON.
        #[command(flatten)]
        format: Format,
    },
    /// List the reviews of a jurisdiction whose next deadline has passed.
    Overdue {
        /// Jurisdiction id, e.g. us-wi.
        #[arg(long)]
        jurisdiction: String,
        /// How to reach the services.
        #[command(flatten)]
        connection: Connection,
        /// Table or JSON.
        #[command(flatten)]
        format: Format,
    },
}

fn stage(value: i32) -> &'static str {
    review::Stage::try_from(value).map_or("-", |s| s.label())
}

/// Runs a `review` subcommand.
pub async fn run(command: ReviewCommand) -> anyhow::Result<()> {
    match command {
        ReviewCommand::Show {
            name,
            connection,
            format,
        } => {
            let caller = connection.caller()?;
            let found = caller
                .review()
                .get_review(review::GetReviewRequest { name: name.clone() })
                .await
                .context("GetReview")?
                .into_inner();
            let team = caller
                .review()
                .list_team_members(review::ListTeamMembersRequest { parent: name })
                .await
                .context("ListTeamMembers")?
                .into_inner()
                .members;
            if format.json {
                let mut value = output::to_json(&found, "scir.review.v1.Review")?;
                value["team"] = output::list_json(&team, "scir.review.v1.TeamMember")?;
                return output::print_json(&value);
            }
            let mut pairs = vec![
                ("review", found.name.clone()),
                ("incident", found.incident.clone()),
                ("stage", stage(found.stage).to_owned()),
                (
                    "period",
                    format!(
                        "{} to {}",
                        date(found.period_start.as_ref()),
                        date(found.period_end.as_ref())
                    ),
                ),
                ("next due", date(found.next_due_date.as_ref())),
                (
                    "overdue",
                    if found.overdue { "yes" } else { "no" }.to_owned(),
                ),
            ];
            for deadline in &found.deadlines {
                pairs.push((
                    "deadline",
                    format!(
                        "{}  {}{}",
                        date(deadline.due_date.as_ref()),
                        deadline.label,
                        if deadline.met { "  (met)" } else { "" }
                    ),
                ));
            }
            for member in &team {
                pairs.push((
                    "team",
                    format!(
                        "{}  {}",
                        member.subject,
                        review::TeamRole::try_from(member.role).map_or("-", |r| r.label())
                    ),
                ));
            }
            println!("{}", fields(&pairs));
            Ok(())
        }
        ReviewCommand::Overdue {
            jurisdiction,
            connection,
            format,
        } => {
            let caller = connection.caller()?;
            let mut reviews = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = caller
                    .review()
                    .list_reviews(review::ListReviewsRequest {
                        parent: format!("jurisdictions/{jurisdiction}"),
                        overdue_only: true,
                        page_size: 100,
                        page_token,
                        ..Default::default()
                    })
                    .await
                    .context("ListReviews")?
                    .into_inner();
                reviews.extend(page.reviews);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            if format.json {
                return output::print_json(&output::list_json(&reviews, "scir.review.v1.Review")?);
            }
            if reviews.is_empty() {
                println!("No overdue reviews in {jurisdiction}.");
                return Ok(());
            }
            let mut table = Table::new(["review", "stage", "was due", "incident"]);
            for r in &reviews {
                table.row([
                    r.name.clone(),
                    stage(r.stage).to_owned(),
                    date(r.next_due_date.as_ref()),
                    r.incident.clone(),
                ]);
            }
            println!("{}", table.render());
            Ok(())
        }
    }
}

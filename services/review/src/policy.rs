//! Who may call which review RPC. Membership of the review team and the SCR
//! lead's role are checked per review by the use cases.

use scir_kit::auth::Role;

/// The service's path prefix.
pub const PREFIX: &str = "/scir.review.v1.ReviewService/";

const READERS: &[Role] = &[Role::Reviewer, Role::ScrLead, Role::Admin, Role::Analyst];
const WRITERS: &[Role] = &[Role::Reviewer, Role::ScrLead, Role::Admin];
const LEADS: &[Role] = &[Role::ScrLead, Role::Admin];

scir_kit::method_rules!("scir.review.v1.ReviewService", {
    "OpenReview" => LEADS,
    "GetReview" => READERS,
    "ListReviews" => READERS,
    "UpdateReview" => LEADS,
    "AdvanceReview" => LEADS,
    "WithdrawReview" => LEADS,
    "ListReviewHistory" => READERS,
    "GenerateSummary" => LEADS,
    "CheckLanguage" => READERS,
    "AddTeamMember" => LEADS,
    "ListTeamMembers" => READERS,
    "RemoveTeamMember" => LEADS,
    "CreateEpisode" => WRITERS,
    "GetEpisode" => READERS,
    "ListEpisodes" => READERS,
    "UpdateEpisode" => WRITERS,
    "DeleteEpisode" => WRITERS,
    "CreateDebriefing" => WRITERS,
    "GetDebriefing" => READERS,
    "ListDebriefings" => READERS,
    "UpdateDebriefing" => WRITERS,
    "DeleteDebriefing" => WRITERS,
    "CreateKeyObservation" => WRITERS,
    "GetKeyObservation" => READERS,
    "ListKeyObservations" => READERS,
    "UpdateKeyObservation" => WRITERS,
    "DeleteKeyObservation" => WRITERS,
    "CreateSystemsMap" => WRITERS,
    "GetSystemsMap" => READERS,
    "ListSystemsMaps" => READERS,
    "UpdateSystemsMap" => WRITERS,
    "DeleteSystemsMap" => WRITERS,
    "CreateLearningOpportunity" => WRITERS,
    "GetLearningOpportunity" => READERS,
    "ListLearningOpportunities" => READERS,
    "UpdateLearningOpportunity" => WRITERS,
    "DeleteLearningOpportunity" => WRITERS,
    "CreateRecommendation" => WRITERS,
    "GetRecommendation" => READERS,
    "ListRecommendations" => READERS,
    "UpdateRecommendation" => WRITERS,
    "DeleteRecommendation" => WRITERS,
    "WatchEvents" => &[Role::Service],
});

//! The group member as a sans-I/O state machine: it builds requests and digests responses,
//! and says what to do next. It never touches a socket or a clock, so every error path of
//! JoinGroup/SyncGroup/Heartbeat can be tested with plain values.

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    GroupId, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse,
    LeaveGroupRequest, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;

/// Kafka error codes the member acts on.
pub mod codes {
    pub const NONE: i16 = 0;
    pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const NOT_COORDINATOR: i16 = 16;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
    pub const INVALID_GROUP_ID: i16 = 24;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const INVALID_SESSION_TIMEOUT: i16 = 26;
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    pub const GROUP_AUTHORIZATION_FAILED: i16 = 30;
    pub const UNSUPPORTED_VERSION: i16 = 35;
    pub const MEMBER_ID_REQUIRED: i16 = 79;
    pub const GROUP_MAX_SIZE_REACHED: i16 = 81;
    pub const FENCED_INSTANCE_ID: i16 = 82;
}

/// What the member must be told about its group.
#[derive(Clone, Debug)]
pub struct MemberSettings {
    pub group_id: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub heartbeat_interval_ms: i32,
    pub protocol_type: String,
}

/// Where the member is in the group protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Not in the group (never joined, or lost its membership).
    Unjoined,
    /// JoinGroup sent.
    Joining,
    /// SyncGroup sent.
    Syncing,
    /// Has an assignment for the current generation; heartbeats.
    Stable,
    /// LeaveGroup sent or about to be.
    Left,
}

/// A joined group's generation as this member saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinedGeneration {
    pub generation: i32,
    pub member_id: String,
    pub leader_id: String,
    pub protocol: String,
    /// Every member's metadata (only for the leader).
    pub members: Vec<(String, Bytes)>,
}

/// What to do after a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Nothing: carry on (heartbeat accepted).
    Continue,
    /// Send JoinGroup again (with current metadata), now.
    Rejoin,
    /// The membership was lost (the coordinator no longer knows this member): rejoin; the
    /// owner decides what happens to its work.
    Lost,
    /// This member leads: compute the assignment and call [`Membership::sync_request`].
    Lead(JoinedGeneration),
    /// A follower: send SyncGroup with no assignments.
    Follow(JoinedGeneration),
    /// The assignment for the generation.
    Assigned {
        generation: i32,
        protocol: String,
        assignment: Bytes,
    },
    /// The coordinator moved or is unavailable: find it again, then rejoin.
    FindCoordinator,
    /// A transient broker error: wait a little, then rejoin.
    Backoff,
    /// Cannot go on; the message names the cause and the fix.
    Fatal(String),
}

/// The member's state.
#[derive(Clone, Debug)]
pub struct Membership {
    settings: MemberSettings,
    phase: Phase,
    member_id: String,
    generation: i32,
    protocol: Option<String>,
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

impl Membership {
    pub fn new(settings: MemberSettings) -> Self {
        Membership {
            settings,
            phase: Phase::Unjoined,
            member_id: String::new(),
            generation: -1,
            protocol: None,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }
    pub fn member_id(&self) -> &str {
        &self.member_id
    }
    pub fn generation(&self) -> i32 {
        self.generation
    }
    pub fn settings(&self) -> &MemberSettings {
        &self.settings
    }

    fn reset(&mut self) {
        self.member_id.clear();
        self.generation = -1;
        self.protocol = None;
        self.phase = Phase::Unjoined;
    }

    /// A JoinGroup request advertising `protocols` (name, metadata) in preference order.
    pub fn join_request(&mut self, protocols: &[(String, Bytes)]) -> JoinGroupRequest {
        self.phase = Phase::Joining;
        JoinGroupRequest::default()
            .with_group_id(GroupId(s(&self.settings.group_id)))
            .with_session_timeout_ms(self.settings.session_timeout_ms)
            .with_rebalance_timeout_ms(self.settings.rebalance_timeout_ms)
            .with_member_id(s(&self.member_id))
            .with_protocol_type(s(&self.settings.protocol_type))
            .with_protocols(
                protocols
                    .iter()
                    .map(|(name, meta)| {
                        JoinGroupRequestProtocol::default()
                            .with_name(s(name))
                            .with_metadata(meta.clone())
                    })
                    .collect(),
            )
    }

    /// Digests a JoinGroup response.
    pub fn on_join(&mut self, r: &JoinGroupResponse) -> Next {
        match r.error_code {
            codes::NONE => {
                self.member_id = r.member_id.to_string();
                self.generation = r.generation_id;
                let protocol = r
                    .protocol_name
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                self.protocol = Some(protocol.clone());
                self.phase = Phase::Syncing;
                let joined = JoinedGeneration {
                    generation: r.generation_id,
                    member_id: self.member_id.clone(),
                    leader_id: r.leader.to_string(),
                    protocol,
                    members: r
                        .members
                        .iter()
                        .map(|m| (m.member_id.to_string(), m.metadata.clone()))
                        .collect(),
                };
                if r.leader.as_str() == self.member_id {
                    Next::Lead(joined)
                } else {
                    Next::Follow(joined)
                }
            }
            codes::MEMBER_ID_REQUIRED => {
                // KIP-394: the broker gave us an id; join again with it.
                self.member_id = r.member_id.to_string();
                self.phase = Phase::Unjoined;
                Next::Rejoin
            }
            codes::UNKNOWN_MEMBER_ID | codes::ILLEGAL_GENERATION | codes::FENCED_INSTANCE_ID => {
                let had = self.generation >= 0;
                self.reset();
                if had {
                    Next::Lost
                } else {
                    Next::Rejoin
                }
            }
            codes::REBALANCE_IN_PROGRESS => {
                self.phase = Phase::Unjoined;
                Next::Rejoin
            }
            codes::NOT_COORDINATOR | codes::COORDINATOR_NOT_AVAILABLE => {
                self.phase = Phase::Unjoined;
                Next::FindCoordinator
            }
            other => self.fatal_or_backoff("JoinGroup", other),
        }
    }

    fn fatal_or_backoff(&mut self, what: &str, code: i16) -> Next {
        self.phase = Phase::Unjoined;
        let group = &self.settings.group_id;
        match code {
            codes::INCONSISTENT_GROUP_PROTOCOL => Next::Fatal(format!(
                "{what} for group {group} failed: INCONSISTENT_GROUP_PROTOCOL. The group.id {group} is used by members that are not Kafka Connect workers (or by workers with no connect.protocol in common); use a group.id of its own for this Connect cluster."
            )),
            codes::INVALID_SESSION_TIMEOUT => Next::Fatal(format!(
                "{what} for group {group} failed: INVALID_SESSION_TIMEOUT. session.timeout.ms={} is outside the broker's group.min.session.timeout.ms..group.max.session.timeout.ms range.",
                self.settings.session_timeout_ms
            )),
            codes::GROUP_AUTHORIZATION_FAILED => Next::Fatal(format!(
                "{what} for group {group} failed: GROUP_AUTHORIZATION_FAILED. The worker's principal needs READ on the group {group}."
            )),
            codes::INVALID_GROUP_ID => Next::Fatal(format!(
                "{what} failed: INVALID_GROUP_ID. group.id '{group}' is not a valid group id."
            )),
            codes::GROUP_MAX_SIZE_REACHED => Next::Fatal(format!(
                "{what} for group {group} failed: GROUP_MAX_SIZE_REACHED. The broker's group.max.size is smaller than the number of workers."
            )),
            codes::UNSUPPORTED_VERSION => Next::Fatal(format!(
                "{what} for group {group} failed: UNSUPPORTED_VERSION. The broker does not support this request version."
            )),
            _ => Next::Backoff,
        }
    }

    /// A SyncGroup request; the leader passes every member's assignment, followers none.
    pub fn sync_request(&mut self, assignments: Vec<(String, Bytes)>) -> SyncGroupRequest {
        self.phase = Phase::Syncing;
        SyncGroupRequest::default()
            .with_group_id(GroupId(s(&self.settings.group_id)))
            .with_generation_id(self.generation)
            .with_member_id(s(&self.member_id))
            .with_protocol_type(Some(s(&self.settings.protocol_type)))
            .with_protocol_name(self.protocol.as_deref().map(s))
            .with_assignments(
                assignments
                    .into_iter()
                    .map(|(m, a)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(s(&m))
                            .with_assignment(a)
                    })
                    .collect(),
            )
    }

    /// Digests a SyncGroup response.
    pub fn on_sync(&mut self, r: &SyncGroupResponse) -> Next {
        match r.error_code {
            codes::NONE => {
                self.phase = Phase::Stable;
                Next::Assigned {
                    generation: self.generation,
                    protocol: self.protocol.clone().unwrap_or_default(),
                    assignment: r.assignment.clone(),
                }
            }
            codes::REBALANCE_IN_PROGRESS => {
                self.phase = Phase::Unjoined;
                Next::Rejoin
            }
            codes::UNKNOWN_MEMBER_ID | codes::ILLEGAL_GENERATION | codes::FENCED_INSTANCE_ID => {
                self.reset();
                Next::Lost
            }
            codes::NOT_COORDINATOR | codes::COORDINATOR_NOT_AVAILABLE => {
                self.phase = Phase::Unjoined;
                Next::FindCoordinator
            }
            other => self.fatal_or_backoff("SyncGroup", other),
        }
    }

    /// A heartbeat, only while stable.
    pub fn heartbeat_request(&self) -> Option<HeartbeatRequest> {
        (self.phase == Phase::Stable).then(|| {
            HeartbeatRequest::default()
                .with_group_id(GroupId(s(&self.settings.group_id)))
                .with_generation_id(self.generation)
                .with_member_id(s(&self.member_id))
        })
    }

    /// A heartbeat to send while a JoinGroup or SyncGroup is in flight, once the member has an
    /// id and a generation (see the driver's keepalive).
    pub fn rebalance_heartbeat(&self) -> Option<HeartbeatRequest> {
        (!self.member_id.is_empty() && self.generation >= 0).then(|| {
            HeartbeatRequest::default()
                .with_group_id(GroupId(s(&self.settings.group_id)))
                .with_generation_id(self.generation)
                .with_member_id(s(&self.member_id))
        })
    }

    /// Digests a Heartbeat response.
    pub fn on_heartbeat(&mut self, r: &HeartbeatResponse) -> Next {
        if self.phase != Phase::Stable {
            // A late answer to a heartbeat sent before a rejoin: nothing to learn from it.
            return Next::Continue;
        }
        match r.error_code {
            codes::NONE => Next::Continue,
            codes::REBALANCE_IN_PROGRESS => {
                self.phase = Phase::Unjoined;
                Next::Rejoin
            }
            codes::UNKNOWN_MEMBER_ID | codes::ILLEGAL_GENERATION | codes::FENCED_INSTANCE_ID => {
                self.reset();
                Next::Lost
            }
            codes::NOT_COORDINATOR | codes::COORDINATOR_NOT_AVAILABLE => {
                self.phase = Phase::Unjoined;
                Next::FindCoordinator
            }
            other => self.fatal_or_backoff("Heartbeat", other),
        }
    }

    /// LeaveGroup for this member, if it has an id; the member is reset either way.
    pub fn leave_request(&mut self, version: i16) -> Option<LeaveGroupRequest> {
        let id = std::mem::take(&mut self.member_id);
        self.reset();
        self.phase = Phase::Left;
        if id.is_empty() {
            return None;
        }
        let req = LeaveGroupRequest::default().with_group_id(GroupId(s(&self.settings.group_id)));
        Some(if version >= 3 {
            req.with_members(vec![MemberIdentity::default()
                .with_member_id(s(&id))
                .with_reason(if version >= 5 {
                    Some(s("the Connect worker is shutting down"))
                } else {
                    None
                })])
        } else {
            req.with_member_id(s(&id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;

    fn member() -> Membership {
        Membership::new(MemberSettings {
            group_id: "g".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 60_000,
            heartbeat_interval_ms: 3_000,
            protocol_type: "connect".into(),
        })
    }

    fn join_ok(member: &str, leader: &str, generation: i32) -> JoinGroupResponse {
        JoinGroupResponse::default()
            .with_member_id(s(member))
            .with_leader(s(leader))
            .with_generation_id(generation)
            .with_protocol_name(Some(s("sessioned")))
            .with_members(vec![JoinGroupResponseMember::default()
                .with_member_id(s(member))
                .with_metadata(Bytes::from_static(b"m"))])
    }

    #[test]
    fn member_id_required_then_lead_then_stable() {
        let mut m = member();
        assert!(
            m.rebalance_heartbeat().is_none(),
            "no id yet: nothing to keep alive"
        );
        let req = m.join_request(&[("sessioned".into(), Bytes::from_static(b"x"))]);
        assert_eq!(req.protocol_type.as_str(), "connect");
        assert_eq!(req.member_id.as_str(), "");
        let r = JoinGroupResponse::default()
            .with_error_code(codes::MEMBER_ID_REQUIRED)
            .with_member_id(s("m-1"));
        assert_eq!(m.on_join(&r), Next::Rejoin);
        assert_eq!(m.join_request(&[]).member_id.as_str(), "m-1");
        let Next::Lead(g) = m.on_join(&join_ok("m-1", "m-1", 3)) else {
            panic!("expected to lead")
        };
        assert_eq!(
            (g.generation, g.protocol.as_str(), g.members.len()),
            (3, "sessioned", 1)
        );
        assert!(
            m.heartbeat_request().is_none(),
            "no heartbeats before the assignment"
        );
        let sync = m.sync_request(vec![("m-1".into(), Bytes::from_static(b"a"))]);
        assert_eq!((sync.generation_id, sync.assignments.len()), (3, 1));
        let r = SyncGroupResponse::default().with_assignment(Bytes::from_static(b"a"));
        assert!(matches!(
            m.on_sync(&r),
            Next::Assigned { generation: 3, .. }
        ));
        assert_eq!(m.phase(), Phase::Stable);
        assert_eq!(m.heartbeat_request().unwrap().generation_id, 3);
        // Rejoining: the keepalive heartbeats with the last generation and the same id.
        m.join_request(&[]);
        let hb = m.rebalance_heartbeat().unwrap();
        assert_eq!((hb.generation_id, hb.member_id.as_str()), (3, "m-1"));
    }

    #[test]
    fn follower_and_heartbeat_errors() {
        let mut m = member();
        m.join_request(&[]);
        assert!(matches!(m.on_join(&join_ok("b", "a", 1)), Next::Follow(_)));
        m.sync_request(Vec::new());
        m.on_sync(&SyncGroupResponse::default());
        let hb = |code| HeartbeatResponse::default().with_error_code(code);
        assert_eq!(m.on_heartbeat(&hb(codes::NONE)), Next::Continue);
        assert_eq!(
            m.on_heartbeat(&hb(codes::REBALANCE_IN_PROGRESS)),
            Next::Rejoin
        );
        assert_eq!(m.member_id(), "b", "a rebalance keeps the member id");
        // Back to stable, then fenced.
        m.join_request(&[]);
        m.on_join(&join_ok("b", "a", 2));
        m.on_sync(&SyncGroupResponse::default());
        assert_eq!(m.on_heartbeat(&hb(codes::ILLEGAL_GENERATION)), Next::Lost);
        assert_eq!((m.member_id(), m.generation()), ("", -1));
        m.join_request(&[]);
        m.on_join(&join_ok("b", "a", 3));
        m.on_sync(&SyncGroupResponse::default());
        assert_eq!(
            m.on_heartbeat(&hb(codes::NOT_COORDINATOR)),
            Next::FindCoordinator
        );
    }

    #[test]
    fn join_and_sync_errors() {
        let mut m = member();
        let err = |code| JoinGroupResponse::default().with_error_code(code);
        m.join_request(&[]);
        assert_eq!(m.on_join(&err(codes::UNKNOWN_MEMBER_ID)), Next::Rejoin);
        assert_eq!(m.on_join(&err(codes::REBALANCE_IN_PROGRESS)), Next::Rejoin);
        assert_eq!(
            m.on_join(&err(codes::NOT_COORDINATOR)),
            Next::FindCoordinator
        );
        assert_eq!(
            m.on_join(&err(codes::COORDINATOR_LOAD_IN_PROGRESS)),
            Next::Backoff
        );
        let Next::Fatal(msg) = m.on_join(&err(codes::INCONSISTENT_GROUP_PROTOCOL)) else {
            panic!()
        };
        assert!(msg.contains("group.id g"), "{msg}");
        m.on_join(&join_ok("b", "a", 4));
        let sync_err = |code| SyncGroupResponse::default().with_error_code(code);
        assert_eq!(
            m.on_sync(&sync_err(codes::REBALANCE_IN_PROGRESS)),
            Next::Rejoin
        );
        m.on_join(&join_ok("b", "a", 5));
        assert_eq!(m.on_sync(&sync_err(codes::UNKNOWN_MEMBER_ID)), Next::Lost);
    }

    #[test]
    fn leave() {
        let mut m = member();
        assert!(
            m.leave_request(4).is_none(),
            "never joined: nothing to leave"
        );
        let mut m = member();
        m.join_request(&[]);
        m.on_join(&join_ok("b", "a", 1));
        let r = m.leave_request(4).unwrap();
        assert_eq!(r.members[0].member_id.as_str(), "b");
        assert_eq!(m.phase(), Phase::Left);
        let mut m = member();
        m.join_request(&[]);
        m.on_join(&join_ok("b", "a", 1));
        assert_eq!(m.leave_request(1).unwrap().member_id.as_str(), "b");
    }
}

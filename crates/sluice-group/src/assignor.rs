//! The leader's assignment, as a pure function: KIP-415's incremental cooperative assignor
//! (`IncrementalCooperativeAssignor`) and the eager round robin (`EagerAssignor`).
//!
//! What the leader remembers between rebalances is a value ([`LeaderMemory`]) passed in and
//! returned, so every decision can be tested without a broker or a clock.

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::{Work, WorkId};

/// What the leader keeps between rebalances.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderMemory {
    /// The assignment it computed last time (after revocations), per member.
    pub previous: BTreeMap<String, Work>,
    /// When lost work is to be reassigned (epoch ms), while a delay runs.
    pub scheduled_rebalance_ms: Option<i64>,
    /// Members that were empty while the delay ran: they get lost work first.
    pub candidates: BTreeSet<String>,
    /// The workers (advertised URLs) of the previous rebalance.
    pub workers: BTreeSet<String>,
}

/// One rebalance's input.
#[derive(Clone, Debug)]
pub struct AssignInput {
    /// Every member and what it reports running (its metadata's allocation).
    pub members: BTreeMap<String, Work>,
    /// Every connector and task the config topic defines.
    pub configured: Work,
    /// Each member's worker (advertised URL). A worker that comes back under a new member id
    /// (evicted and rejoined) has not departed; members missing here count as their own id.
    pub urls: BTreeMap<String, String>,
    pub now_ms: i64,
    /// `scheduled.rebalance.max.delay.ms`.
    pub max_delay_ms: i32,
}

/// One member's share of a rebalance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberPlan {
    pub assigned: Work,
    pub revoked: Work,
}

/// The leader's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub members: BTreeMap<String, MemberPlan>,
    /// Scheduled rebalance delay in ms (0 = none).
    pub delay_ms: i32,
}

fn union_all<'a>(works: impl Iterator<Item = &'a Work>) -> Work {
    works.fold(Work::default(), |acc, w| acc.union(w))
}

/// Incremental cooperative assignment. Returns the plan and the memory for next time.
pub fn assign_incremental(memory: &LeaderMemory, input: &AssignInput) -> (Plan, LeaderMemory) {
    let members: Vec<&String> = input.members.keys().collect();
    let effective = effective_allocations(memory, input);
    let active = union_all(effective.values());
    // A leader that has no memory (new leader) takes the members' reports as the past.
    let previous_all = if memory.previous.is_empty() {
        active.clone()
    } else {
        union_all(memory.previous.values())
    };

    let mut revoked: BTreeMap<String, Work> = BTreeMap::new();
    // What each member keeps: its report minus deleted and duplicated work.
    let mut next: BTreeMap<String, Work> = BTreeMap::new();
    let mut holders: BTreeMap<WorkId, usize> = BTreeMap::new();
    for work in effective.values() {
        for id in work.ids() {
            *holders.entry(id).or_default() += 1;
        }
    }
    for (m, work) in &effective {
        let mut keep = Work::default();
        for id in work.ids() {
            let deleted = !input.configured.contains(&id);
            let duplicated = holders.get(&id).copied().unwrap_or(0) > 1;
            if deleted || duplicated {
                revoked.entry(m.clone()).or_default().insert(id);
            } else {
                keep.insert(id);
            }
        }
        next.insert(m.clone(), keep);
    }
    let held = union_all(next.values());
    let lost = previous_all.minus(&active);
    let lost = Work {
        connectors: lost
            .connectors
            .intersection(&input.configured.connectors)
            .cloned()
            .collect(),
        tasks: lost
            .tasks
            .intersection(&input.configured.tasks)
            .cloned()
            .collect(),
    };
    // Unheld configured work that is not lost: new, or revoked last time, or duplicated.
    let mut to_assign = input.configured.minus(&held).minus(&lost);

    let mut new_memory = LeaderMemory::default();
    let mut delay_ms = 0;
    let url = |m: &String| input.urls.get(m).cloned().unwrap_or_else(|| m.clone());
    let workers: BTreeSet<String> = input.members.keys().map(url).collect();
    // Only a worker that is gone makes lost work wait for the delay; a member id that changed
    // (the same worker rejoining after an eviction) does not.
    let members_left = if memory.workers.is_empty() {
        memory
            .previous
            .keys()
            .any(|m| !m.is_empty() && !input.members.contains_key(m))
    } else {
        !memory.workers.is_subset(&workers)
    };
    if !lost.is_empty() {
        let expired = memory
            .scheduled_rebalance_ms
            .is_some_and(|at| input.now_ms >= at);
        if input.max_delay_ms <= 0 || !members_left || expired {
            // Reassign now: to the empty workers seen during the delay first.
            let candidates: Vec<String> = memory
                .candidates
                .iter()
                .filter(|c| input.members.contains_key(*c))
                .cloned()
                .collect();
            if expired && !candidates.is_empty() {
                round_robin(&mut next, &candidates, &lost);
            } else {
                to_assign = to_assign.union(&lost);
            }
        } else {
            let at = memory
                .scheduled_rebalance_ms
                .unwrap_or(input.now_ms + i64::from(input.max_delay_ms));
            delay_ms = (at - input.now_ms).clamp(0, i64::from(input.max_delay_ms)) as i32;
            new_memory.scheduled_rebalance_ms = Some(at);
            new_memory.candidates = memory.candidates.clone();
            new_memory.candidates.extend(
                next.iter()
                    .filter(|(_, w)| w.is_empty())
                    .map(|(m, _)| m.clone()),
            );
            // Lost work stays in the memory, so it is still lost next time.
            let mut ghost = Work::default();
            for id in lost.ids() {
                ghost.insert(id);
            }
            new_memory.previous.insert(String::new(), ghost);
        }
    }

    // New work goes to the least loaded members.
    assign_least_loaded(&mut next, &to_assign);

    // Load balancing, only while no delay runs: move the excess over the fair share.
    if delay_ms == 0 && !members.is_empty() {
        balance(&mut next, &mut revoked, &effective, true);
        balance(&mut next, &mut revoked, &effective, false);
    }

    let mut plan = Plan {
        members: BTreeMap::new(),
        delay_ms,
    };
    for (m, reported) in &input.members {
        let target = next.get(m).cloned().unwrap_or_default();
        plan.members.insert(
            m.clone(),
            MemberPlan {
                assigned: target.minus(reported),
                revoked: revoked.remove(m).unwrap_or_default(),
            },
        );
    }
    for (m, w) in next {
        new_memory.previous.insert(m, w);
    }
    new_memory.workers = if delay_ms > 0 {
        // While the delay runs, the departed workers are still the reference.
        memory.workers.union(&workers).cloned().collect()
    } else {
        workers
    };
    (plan, new_memory)
}

/// What each member runs, as far as the leader can tell. A member's metadata is what it ran
/// when it last sent JoinGroup; a coordinator may hand the leader metadata from before the
/// member's last assignment (a member that was not asked to rejoin keeps its old metadata),
/// and trusting it would give the member's work to a second member. So when this leader
/// planned the member's previous allocation, that plan counts, plus whatever the member
/// reports that the plan gave no other member of this generation (work it still runs from
/// before). A leader with no plan for a member takes its report. A plan for a member that is
/// not in this generation (departed, or back under a new member id) hides nobody's report:
/// its worker may have run the work and another member too (one whose revocation never
/// arrived), and only the reports can show that duplicate, so both are revoked.
fn effective_allocations(memory: &LeaderMemory, input: &AssignInput) -> BTreeMap<String, Work> {
    input
        .members
        .iter()
        .map(|(m, reported)| {
            let Some(planned) = memory.previous.get(m) else {
                return (m.clone(), reported.clone());
            };
            let elsewhere = union_all(
                memory
                    .previous
                    .iter()
                    .filter(|(other, _)| {
                        *other != m && !other.is_empty() && input.members.contains_key(*other)
                    })
                    .map(|(_, w)| w),
            );
            (m.clone(), planned.union(&reported.minus(&elsewhere)))
        })
        .collect()
}

fn round_robin(next: &mut BTreeMap<String, Work>, to: &[String], work: &Work) {
    for (i, id) in work.ids().enumerate() {
        if let Some(w) = next.get_mut(&to[i % to.len()]) {
            w.insert(id);
        }
    }
}

/// Each item goes to the member with the fewest items of its kind (ties: member id).
fn assign_least_loaded(next: &mut BTreeMap<String, Work>, work: &Work) {
    if next.is_empty() {
        return;
    }
    for c in &work.connectors {
        if let Some(m) = next
            .iter()
            .min_by_key(|(m, w)| (w.connectors.len(), (*m).clone()))
            .map(|(m, _)| m.clone())
        {
            if let Some(w) = next.get_mut(&m) {
                w.connectors.insert(c.clone());
            }
        }
    }
    for t in &work.tasks {
        if let Some(m) = next
            .iter()
            .min_by_key(|(m, w)| (w.tasks.len(), (*m).clone()))
            .map(|(m, _)| m.clone())
        {
            if let Some(w) = next.get_mut(&m) {
                w.tasks.insert(t.clone());
            }
        }
    }
}

/// Revokes what members hold over `floor(total/n)` (`total % n` of them may hold one more).
fn balance(
    next: &mut BTreeMap<String, Work>,
    revoked: &mut BTreeMap<String, Work>,
    effective: &BTreeMap<String, Work>,
    connectors: bool,
) {
    let count = |w: &Work| {
        if connectors {
            w.connectors.len()
        } else {
            w.tasks.len()
        }
    };
    let n = next.len();
    let total: usize = next.values().map(count).sum();
    let floor = total / n;
    let mut extra = total % n;
    let mut order: Vec<(usize, String)> = next.iter().map(|(m, w)| (count(w), m.clone())).collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (have, m) in order {
        let allowed = if extra > 0 && have > floor {
            extra -= 1;
            floor + 1
        } else {
            floor
        };
        if have <= allowed {
            continue;
        }
        let Some(w) = next.get_mut(&m) else { continue };
        let reported = effective.get(&m).cloned().unwrap_or_default();
        let ids: Vec<WorkId> = if connectors {
            w.connectors
                .iter()
                .map(|c| WorkId::Connector(c.clone()))
                .collect()
        } else {
            w.tasks
                .iter()
                .map(|(c, t)| WorkId::Task(c.clone(), *t))
                .collect()
        };
        // Give up the newest (last) items; running ones are revoked, unstarted ones dropped.
        for id in ids.into_iter().rev().take(have - allowed) {
            w.remove(&id);
            if reported.contains(&id) {
                revoked.entry(m.clone()).or_default().insert(id);
            }
        }
    }
}

/// Eager assignment (`EagerAssignor`): everything, round robin over sorted members, connectors
/// first and the same iterator continuing over the tasks.
pub fn assign_eager(members: &[String], configured: &Work) -> BTreeMap<String, Work> {
    let mut sorted: Vec<String> = members.to_vec();
    sorted.sort();
    let mut out: BTreeMap<String, Work> = sorted
        .iter()
        .map(|m| (m.clone(), Work::default()))
        .collect();
    if sorted.is_empty() {
        return out;
    }
    for (i, id) in configured.ids().enumerate() {
        if let Some(w) = out.get_mut(&sorted[i % sorted.len()]) {
            w.insert(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured(connectors: &[(&str, i32)]) -> Work {
        let mut w = Work::default();
        for (c, n) in connectors {
            w.connectors.insert(c.to_string());
            for t in 0..*n {
                w.tasks.insert((c.to_string(), t));
            }
        }
        w
    }

    /// Runs rebalances like the members would (apply revocations and assignments, rejoin
    /// while anything was revoked) until stable; returns the final allocations.
    fn settle(
        memory: &mut LeaderMemory,
        members: &mut BTreeMap<String, Work>,
        configured: &Work,
        now: i64,
        max_delay: i32,
    ) -> (i32, Vec<WorkId>) {
        let mut stopped = Vec::new();
        for _ in 0..10 {
            let input = AssignInput {
                members: members.clone(),
                configured: configured.clone(),
                urls: BTreeMap::new(),
                now_ms: now,
                max_delay_ms: max_delay,
            };
            let (plan, mem) = assign_incremental(memory, &input);
            *memory = mem;
            let mut any_revoked = false;
            for (m, p) in &plan.members {
                let w = members.get_mut(m).unwrap();
                for id in p.revoked.ids() {
                    assert!(w.remove(&id), "{m} was told to stop {id} it does not run");
                    stopped.push(id);
                    any_revoked = true;
                }
                for id in p.assigned.ids() {
                    assert!(!w.contains(&id), "{m} assigned {id} twice");
                    w.insert(id);
                }
            }
            if !any_revoked {
                return (plan.delay_ms, stopped);
            }
        }
        panic!("did not settle");
    }

    fn check_invariants(members: &BTreeMap<String, Work>, configured: &Work) {
        let mut seen = BTreeSet::new();
        for w in members.values() {
            for id in w.ids() {
                assert!(seen.insert(id.clone()), "{id} assigned twice");
                assert!(configured.contains(&id), "{id} not configured");
            }
        }
        assert_eq!(seen.len(), configured.len(), "everything assigned");
        let counts = |f: fn(&Work) -> usize| {
            let v: Vec<usize> = members.values().map(f).collect();
            (
                v.iter().min().copied().unwrap(),
                v.iter().max().copied().unwrap(),
            )
        };
        let (lo, hi) = counts(|w| w.connectors.len());
        assert!(hi - lo <= 1, "connectors balanced within 1: {members:?}");
        let (lo, hi) = counts(|w| w.tasks.len());
        assert!(hi - lo <= 1, "tasks balanced within 1: {members:?}");
    }

    fn members(names: &[&str]) -> BTreeMap<String, Work> {
        names
            .iter()
            .map(|m| (m.to_string(), Work::default()))
            .collect()
    }

    #[test]
    fn property_many_shapes_are_assigned_once_and_balanced() {
        // A deterministic sweep over shapes in place of random generation.
        for n_members in 1..=5 {
            for n_connectors in 0..=6 {
                for tasks_each in 0..=4 {
                    let names: Vec<String> = (0..n_members).map(|i| format!("m{i}")).collect();
                    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                    let conns: Vec<(String, i32)> = (0..n_connectors)
                        .map(|i| (format!("c{i}"), (tasks_each + i) % 5))
                        .collect();
                    let crefs: Vec<(&str, i32)> =
                        conns.iter().map(|(c, n)| (c.as_str(), *n)).collect();
                    let cfg = configured(&crefs);
                    let mut mem = LeaderMemory::default();
                    let mut ms = members(&refs);
                    let (_, stopped) = settle(&mut mem, &mut ms, &cfg, 0, 0);
                    assert!(stopped.is_empty(), "fresh cluster stops nothing");
                    check_invariants(&ms, &cfg);
                }
            }
        }
    }

    #[test]
    fn adding_a_connector_stops_nothing() {
        let mut cfg = configured(&[("a", 3)]);
        let mut mem = LeaderMemory::default();
        let mut ms = members(&["w1", "w2", "w3"]);
        settle(&mut mem, &mut ms, &cfg, 0, 300_000);
        for extra in [("b", 1), ("c", 5), ("d", 0)] {
            cfg = cfg.union(&configured(&[extra]));
            let (_, stopped) = settle(&mut mem, &mut ms, &cfg, 0, 300_000);
            assert!(stopped.is_empty(), "stopped {stopped:?}");
            check_invariants(&ms, &cfg);
        }
    }

    #[test]
    fn a_new_worker_takes_a_fair_share_and_only_the_excess_moves() {
        let cfg = configured(&[("a", 4), ("b", 4)]);
        let mut mem = LeaderMemory::default();
        let mut ms = members(&["w1", "w2", "w3"]);
        settle(&mut mem, &mut ms, &cfg, 0, 300_000);
        ms.insert("w4".into(), Work::default());
        let (_, stopped) = settle(&mut mem, &mut ms, &cfg, 0, 300_000);
        check_invariants(&ms, &cfg);
        // 8 tasks over 4 workers: w4 gets 2 tasks; 2 connectors stay where they were.
        assert_eq!(ms["w4"].tasks.len(), 2);
        assert_eq!(stopped.len(), 2, "only what must move moves: {stopped:?}");
    }

    #[test]
    fn removing_a_connector_revokes_only_it() {
        let cfg = configured(&[("a", 2), ("b", 2)]);
        let mut mem = LeaderMemory::default();
        let mut ms = members(&["w1", "w2"]);
        settle(&mut mem, &mut ms, &cfg, 0, 0);
        let cfg2 = configured(&[("a", 2)]);
        let (_, stopped) = settle(&mut mem, &mut ms, &cfg2, 0, 0);
        assert!(
            stopped.iter().all(|id| id.connector() == "b"),
            "{stopped:?}"
        );
        check_invariants(&ms, &cfg2);
    }

    #[test]
    fn lost_work_waits_for_the_delay_then_moves() {
        let cfg = configured(&[("a", 3), ("b", 3)]);
        let mut mem = LeaderMemory::default();
        let mut ms = members(&["w1", "w2", "w3"]);
        settle(&mut mem, &mut ms, &cfg, 0, 10_000);
        let gone = ms.remove("w3").unwrap();
        assert!(!gone.is_empty());
        // The worker vanished: a delay starts, nothing is reassigned yet.
        let (delay, _) = settle(&mut mem, &mut ms, &cfg, 1_000, 10_000);
        assert_eq!(delay, 10_000);
        assert!(ms.values().all(|w| gone.ids().all(|id| !w.contains(&id))));
        // Another rebalance during the delay keeps counting down.
        let (delay, _) = settle(&mut mem, &mut ms, &cfg, 6_000, 10_000);
        assert_eq!(delay, 5_000);
        // Once it expires, the lost work is reassigned.
        let (delay, stopped) = settle(&mut mem, &mut ms, &cfg, 11_000, 10_000);
        assert_eq!(delay, 0);
        assert!(stopped.is_empty(), "survivors keep running: {stopped:?}");
        check_invariants(&ms, &cfg);
    }

    #[test]
    fn lost_work_goes_to_a_worker_that_came_back_during_the_delay() {
        let cfg = configured(&[("a", 3)]);
        let mut mem = LeaderMemory::default();
        let mut ms = members(&["w1", "w2"]);
        settle(&mut mem, &mut ms, &cfg, 0, 10_000);
        let gone = ms.remove("w2").unwrap();
        settle(&mut mem, &mut ms, &cfg, 1_000, 10_000);
        ms.insert("w2-new".into(), Work::default());
        let (delay, _) = settle(&mut mem, &mut ms, &cfg, 2_000, 10_000);
        assert!(delay > 0);
        settle(&mut mem, &mut ms, &cfg, 12_000, 10_000);
        assert_eq!(ms["w2-new"], gone);
        check_invariants(&ms, &cfg);
    }

    #[test]
    fn zero_delay_reassigns_at_once_and_graceful_leave_too() {
        let cfg = configured(&[("a", 2)]);
        let mut mem = LeaderMemory::default();
        let mut ms = members(&["w1", "w2"]);
        settle(&mut mem, &mut ms, &cfg, 0, 0);
        ms.remove("w2");
        let (delay, _) = settle(&mut mem, &mut ms, &cfg, 1, 0);
        assert_eq!(delay, 0);
        check_invariants(&ms, &cfg);
    }

    #[test]
    fn duplicates_and_deleted_are_revoked_and_a_new_leader_trusts_reports() {
        let cfg = configured(&[("a", 1)]);
        let mut ms = members(&["w1", "w2"]);
        ms.get_mut("w1")
            .unwrap()
            .insert(WorkId::Task("a".into(), 0));
        ms.get_mut("w2")
            .unwrap()
            .insert(WorkId::Task("a".into(), 0));
        ms.get_mut("w2")
            .unwrap()
            .insert(WorkId::Connector("gone".into()));
        let mut mem = LeaderMemory::default();
        let (_, stopped) = settle(&mut mem, &mut ms, &cfg, 0, 0);
        assert_eq!(stopped.len(), 3);
        check_invariants(&ms, &cfg);
    }

    #[test]
    fn stale_metadata_does_not_give_a_members_work_to_another() {
        // The leader gave w1 the connector and its task; the coordinator then hands the leader
        // w1's metadata from before that assignment (w1 was not asked to rejoin).
        let cfg = configured(&[("a", 1)]);
        let mut mem = LeaderMemory::default();
        let ms = members(&["w1", "w2"]);
        let input = |ms: &BTreeMap<String, Work>| AssignInput {
            members: ms.clone(),
            configured: cfg.clone(),
            urls: BTreeMap::new(),
            now_ms: 0,
            max_delay_ms: 300_000,
        };
        let (plan, m) = assign_incremental(&mem, &input(&ms));
        mem = m;
        let owner = plan
            .members
            .iter()
            .find(|(_, p)| p.assigned.contains(&WorkId::Task("a".into(), 0)))
            .map(|(m, _)| m.clone())
            .unwrap();
        // Same (stale, empty) reports again, and a new member that would win every tie:
        // nothing moves to another member, and the owner is told again what it runs.
        let mut ms = ms;
        ms.insert("w0".into(), Work::default());
        let (plan, _) = assign_incremental(&mem, &input(&ms));
        for (m, p) in &plan.members {
            if *m == owner {
                assert!(
                    p.assigned.contains(&WorkId::Task("a".into(), 0)),
                    "{plan:?}"
                );
            } else {
                assert!(p.assigned.is_empty() && p.revoked.is_empty(), "{plan:?}");
            }
        }
        assert_eq!(plan.delay_ms, 0);
    }

    #[test]
    fn a_plan_of_a_member_gone_from_the_generation_hides_no_duplicate() {
        // The leader planned connector "a" for m1. m1 came back as m3 (an eviction, or a
        // leave and join) and still runs "a"; m2 runs it too: its revocation never arrived
        // (its SyncGroup failed), and the leader's plan for m2 does not have it.
        let cfg = configured(&[("a", 0)]);
        let a = WorkId::Connector("a".into());
        let mut mem = LeaderMemory::default();
        let mut held = Work::default();
        held.insert(a.clone());
        mem.previous.insert("m1".into(), held.clone());
        mem.previous.insert("m2".into(), Work::default());
        let mut ms = BTreeMap::new();
        ms.insert("m2".to_string(), held.clone());
        ms.insert("m3".to_string(), held);
        let input = AssignInput {
            members: ms,
            configured: cfg,
            urls: BTreeMap::new(),
            now_ms: 0,
            max_delay_ms: 300_000,
        };
        let (plan, _) = assign_incremental(&mem, &input);
        for m in ["m2", "m3"] {
            assert!(plan.members[m].revoked.contains(&a), "{m}: {plan:?}");
        }
    }

    #[test]
    fn eager_round_robin() {
        let cfg = configured(&[("b", 1), ("a", 2)]);
        let out = assign_eager(&["y".into(), "x".into()], &cfg);
        // Connectors a, b, then tasks a-0, a-1, b-0 over x, y, x, y, x.
        assert_eq!(out["x"].ids().count(), 3);
        assert!(out["x"].contains(&WorkId::Connector("a".into())));
        assert!(out["y"].contains(&WorkId::Connector("b".into())));
        assert!(out["y"].contains(&WorkId::Task("a".into(), 1)));
    }
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn a_worker_back_under_a_new_member_id_has_not_departed() {
        let mut cfg = Work::default();
        cfg.connectors.insert("a".into());
        cfg.tasks.insert(("a".into(), 0));
        let urls = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(m, u)| (m.to_string(), u.to_string()))
                .collect()
        };
        let mut members: BTreeMap<String, Work> = BTreeMap::new();
        members.insert("m1".into(), Work::default());
        members.insert("m2".into(), Work::default());
        let input = AssignInput {
            members: members.clone(),
            configured: cfg.clone(),
            urls: urls(&[("m1", "http://a/"), ("m2", "http://b/")]),
            now_ms: 0,
            max_delay_ms: 10_000,
        };
        let (plan, memory) = assign_incremental(&LeaderMemory::default(), &input);
        let holder = plan
            .members
            .iter()
            .find(|(_, p)| p.assigned.tasks.contains(&("a".to_string(), 0)))
            .map(|(m, _)| m.clone())
            .unwrap();
        // The holder is evicted and rejoins empty under a new id, same URL.
        let other = if holder == "m1" { "m2" } else { "m1" };
        let mut members: BTreeMap<String, Work> = BTreeMap::new();
        members.insert(other.to_string(), plan.members[other].assigned.clone());
        members.insert("m3".into(), Work::default());
        let back_url = if holder == "m1" {
            "http://a/"
        } else {
            "http://b/"
        };
        let other_url = if holder == "m1" {
            "http://b/"
        } else {
            "http://a/"
        };
        let input = AssignInput {
            members,
            configured: cfg,
            urls: urls(&[(other, other_url), ("m3", back_url)]),
            now_ms: 1,
            max_delay_ms: 10_000,
        };
        let (plan, _) = assign_incremental(&memory, &input);
        assert_eq!(plan.delay_ms, 0, "no worker departed: no delay");
        let assigned: usize = plan.members.values().map(|p| p.assigned.len()).sum();
        assert_eq!(
            assigned,
            plan.members
                .values()
                .map(|p| p.assigned.len())
                .sum::<usize>()
        );
        assert!(plan
            .members
            .values()
            .any(|p| p.assigned.tasks.contains(&("a".to_string(), 0))));
    }
}

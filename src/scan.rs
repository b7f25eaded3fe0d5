//! `scan` (shift-left): the same checks on the security groups that CloudFormation templates and
//! Terraform plans *define*, before anything is deployed. One verdict per defined group and
//! check, as the audit's rows, with the file and line that define the group.
//!
//! A template may leave values to deploy time ([`crate::template::Val::Unknown`]). The verdict is
//! judged in several *worlds*, each a concrete value for every unknown: the known values (unknown
//! sources as documentation addresses, which reach no public or private address; rules of unknown
//! protocols or ports left out, a lower bound since the checks only grow with more sources), the
//! internet and a private range as every unknown source with every protocol and port, and, for
//! checks that read tags, each tag value they care about for unknown tags and for groups the
//! files do not define, and those groups as load balancers' groups. Worlds that disagree show
//! the verdict depends on the unknown: INSUFFICIENT_DATA, naming it. Worlds that agree give the
//! verdict, so a finding that holds for the known values is NON_COMPLIANT whatever the rest.
//!
//! CloudFormation conditions not settled by `--parameters` are judged in every combination (up to
//! [`MAX_OPEN_CONDITIONS`] of them): NON_COMPLIANT if any combination is, else
//! INSUFFICIENT_DATA if any is; the reason names the combination.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use crate::audit::{AuditError, AuditReport, ErrorKind, Row, Shared};
use crate::checks::{Check, Facts};
use crate::model::{GroupId, GroupInfo, Permission, RawPermission, SecurityGroup, Tags};
use crate::template::{self, Defined, Group, GroupPeer, Peer, Rule, Source, TemplateError, Val};
use crate::verdict::Compliance;

/// Open CloudFormation conditions judged in every combination (2^10 = 1,024 combinations).
pub const MAX_OPEN_CONDITIONS: usize = 10;

/// Scans files (each a CloudFormation template or a Terraform plan) with `parameters` (the
/// `--parameters` file's values) for every selected check.
pub fn scan_files(
    paths: &[impl AsRef<Path>],
    parameters: &BTreeMap<String, String>,
    checks: &[Check],
) -> AuditReport {
    let mut report = AuditReport::new(checks);
    let mut declared: BTreeSet<&str> = BTreeSet::new();
    let mut any_template = false;
    for path in paths {
        let path = path.as_ref();
        match template::read(path, parameters) {
            Ok(source) => {
                if let Source::CloudFormation(t) = &source {
                    any_template = true;
                    declared.extend(
                        parameters
                            .keys()
                            .map(String::as_str)
                            .filter(|k| t.declares(k)),
                    );
                }
                scan_source(&path.display().to_string(), &source, checks, &mut report);
            }
            Err(e) => report.errors.push(input_error(e)),
        }
    }
    if any_template {
        let unused: Vec<&str> = parameters
            .keys()
            .map(String::as_str)
            .filter(|k| !declared.contains(k))
            .collect();
        if !unused.is_empty() {
            report.errors.push(AuditError {
                kind: ErrorKind::Input,
                message: format!(
                    "--parameters: {} declared by no template scanned (check the spelling)",
                    unused.join(", ")
                ),
            });
        }
    } else if !parameters.is_empty() {
        report.notes.push(
            "--parameters applies to CloudFormation templates only: no template was scanned".into(),
        );
    }
    report
}

fn input_error(e: TemplateError) -> AuditError {
    AuditError {
        kind: ErrorKind::Input,
        message: e.to_string(),
    }
}

/// A group as first seen in a file (its place in the report).
struct Seen {
    id: String,
    line: Option<usize>,
    name: Option<String>,
    vpc_id: Option<String>,
}

/// What one permission names, by kind, before validation.
#[derive(Default)]
struct Named {
    ipv4: Vec<String>,
    ipv6: Vec<String>,
    prefix_lists: Vec<String>,
    groups: Vec<(String, Option<String>)>,
}

/// What one (group, check) came to under one assignment of the conditions.
#[derive(Clone, PartialEq, Eq)]
struct Outcome {
    compliance: Compliance,
    annotation: String,
    /// The conditions (with values) the group's definition read.
    conditions: Vec<(String, bool)>,
}

/// Everything judged of one file so far (one round of condition assignments).
#[derive(Default)]
struct Judging {
    /// Groups in the order first seen.
    order: Vec<Seen>,
    seen: BTreeSet<String>,
    /// Per (group, check): the distinct outcomes of the assignments.
    outcomes: BTreeMap<(String, usize), Vec<Outcome>>,
    /// Resources that could not be read and values EC2 would refuse, with the combinations of
    /// conditions they failed in.
    failures: BTreeMap<String, Vec<String>>,
    /// Groups that got an error instead of a verdict in some combination.
    errored: BTreeSet<String>,
    /// References between kinds of groups (tiers) in the first combination.
    graph: BTreeMap<crate::checks::Edge, usize>,
    /// The combinations judged, and in how many of them each group got verdicts.
    assignments: usize,
    judged_in: BTreeMap<String, usize>,
    notes: Vec<String>,
    /// Outcomes by what decides them (a group's definition, and every group's when a check reads
    /// other groups): an assignment that changes nothing of a group is not judged again.
    cache: std::collections::HashMap<u64, Vec<Outcome>>,
}

impl Judging {
    fn absorb(
        &mut self,
        name: &str,
        assignment: &BTreeMap<String, bool>,
        d: &Defined,
        checks: &[Check],
    ) {
        for note in &d.notes {
            if !self.notes.contains(note) {
                self.notes.push(note.clone());
            }
        }
        // A resource that could not be read: an error (naming the combination of conditions it
        // came from, when there are several), and its group gets no verdict.
        let when = combination(assignment);
        for (group, e) in &d.errors {
            self.failures
                .entry(e.to_string())
                .or_default()
                .push(when.clone());
            if let Some(g) = group {
                self.errored.insert(g.clone());
            }
        }
        // What a check that reads other groups sees of them: ids, tags, VPCs, load balancers.
        let reads_others = checks.iter().any(Check::depends_on_other_groups);
        let whole = reads_others.then(|| {
            fingerprint(
                &d.groups
                    .iter()
                    .map(|g| (&g.id, &g.tags, &g.vpc_id, g.load_balancer, g.deleted))
                    .collect::<Vec<_>>(),
            )
        });
        let keys: Vec<u64> = d
            .groups
            .iter()
            .map(|g| fingerprint(&(g, whole, &d.external_load_balancer_groups)))
            .collect();
        let wanted: BTreeSet<&str> = d
            .groups
            .iter()
            .zip(&keys)
            .filter(|(_, k)| !self.cache.contains_key(k))
            .map(|(g, _)| g.id.as_str())
            .collect();
        for g in &d.groups {
            if self.seen.insert(g.id.clone()) {
                self.order.push(Seen {
                    id: g.id.clone(),
                    line: g.line,
                    name: g.name.clone(),
                    vpc_id: g.vpc_id.clone(),
                });
            }
        }
        if !wanted.is_empty() {
            // The tier map is drawn from the first combination only: one count per reference.
            let graph = (self.assignments == 0).then_some(&mut self.graph);
            let (judged, bad) = judge_defined(d, checks, &wanted, graph);
            let index: std::collections::HashMap<&str, usize> = d
                .groups
                .iter()
                .enumerate()
                .map(|(i, g)| (g.id.as_str(), i))
                .collect();
            for (gid, per_check) in judged {
                if let Some(&i) = index.get(gid.as_str()) {
                    self.cache.insert(keys[i], per_check);
                }
            }
            for (group, why) in bad {
                let message = if why.contains(&group) {
                    format!("{name}: {why}")
                } else {
                    format!("{name}: {why} (group {group})")
                };
                self.failures.entry(message).or_default().push(when.clone());
                self.errored.insert(group);
            }
        }
        self.assignments += 1;
        for (g, key) in d.groups.iter().zip(&keys) {
            let Some(per_check) = self.cache.get(key) else {
                continue;
            };
            *self.judged_in.entry(g.id.clone()).or_default() += 1;
            for (ci, o) in per_check.iter().enumerate() {
                let list = self.outcomes.entry((g.id.clone(), ci)).or_default();
                if !list.contains(o) {
                    list.push(o.clone());
                }
            }
        }
    }
}

/// `C=true, D=false`: a combination of conditions, for messages.
fn combination<'a>(values: impl IntoIterator<Item = (&'a String, &'a bool)>) -> String {
    values
        .into_iter()
        .map(|(c, v)| format!("{c}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A hash of what decides a verdict.
fn fingerprint(v: &impl std::hash::Hash) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(v)
}

/// Scans one parsed file into `report`.
pub fn scan_source(name: &str, source: &Source, checks: &[Check], report: &mut AuditReport) {
    let file: Shared = Arc::from(name);
    // Every assignment of the open conditions is judged as it is made; meeting a condition not
    // yet open starts the round again with it (at most MAX_OPEN_CONDITIONS).
    let mut open: Vec<String> = Vec::new();
    let judging = 'rounds: loop {
        let mut judging = Judging::default();
        for bits in 0..1usize << open.len() {
            let assignment: BTreeMap<String, bool> = open
                .iter()
                .enumerate()
                .map(|(i, c)| (c.clone(), bits >> i & 1 == 1))
                .collect();
            let d = match source.groups(&assignment) {
                Ok(d) => d,
                Err(e) => {
                    let mut error = input_error(e);
                    if !assignment.is_empty() {
                        error
                            .message
                            .push_str(&format!(" (when {})", combination(&assignment)));
                    }
                    report.errors.push(error);
                    return;
                }
            };
            let new: Vec<String> = d
                .open_conditions
                .iter()
                .filter(|c| !open.contains(c))
                .cloned()
                .collect();
            if !new.is_empty() {
                open.extend(new);
                if open.len() > MAX_OPEN_CONDITIONS {
                    report.errors.push(AuditError {
                        kind: ErrorKind::Input,
                        message: format!(
                            "{name}: its security groups depend on {} conditions ({}) that --parameters does not settle: more than {MAX_OPEN_CONDITIONS} to judge in every combination; pass --parameters with the values that decide them",
                            open.len(),
                            open.join(", ")
                        ),
                    });
                    return;
                }
                continue 'rounds;
            }
            judging.absorb(name, &assignment, &d, checks);
        }
        break judging;
    };
    let Judging {
        mut order,
        outcomes,
        failures,
        errored,
        notes,
        assignments,
        judged_in,
        graph,
        ..
    } = judging;
    for (edge, n) in graph {
        *report.graph.entry(edge).or_default() += n;
    }
    let mut errors = Vec::new();
    for (message, combinations) in failures {
        errors.push(match combinations.as_slice() {
            [] => message,
            [only] if only.is_empty() => message,
            [first] => format!("{message} (when {first})"),
            [first, more @ ..] => format!(
                "{message} (when {first}, and in {} more combinations)",
                more.len()
            ),
        });
    }
    for note in notes {
        if !report.notes.contains(&note) {
            report.notes.push(note);
        }
    }
    for message in errors {
        report.errors.push(AuditError {
            kind: ErrorKind::Input,
            message,
        });
    }
    // A group no combination of the conditions creates gets no verdict: said, not silent.
    let never: Vec<String> = source
        .group_ids()
        .into_iter()
        .filter(|id| !order.iter().any(|s| &s.id == id) && !errored.contains(id))
        .collect();
    if !never.is_empty() {
        report.notes.push(format!(
            "{name}: {} not created under the conditions settled by --parameters: no verdict",
            never.join(", ")
        ));
    }
    if order.is_empty() && never.is_empty() && report.errors.is_empty() {
        report.notes.push(format!(
            "{name}: defines no security group ({}): nothing to judge",
            source.kind()
        ));
    }
    // In the order the file defines them.
    order.sort_by_key(|s| (s.line.is_none(), s.line));
    for Seen {
        id,
        line,
        name: group_name,
        vpc_id: vpc,
    } in order
    {
        for (ci, check) in checks.iter().enumerate() {
            let Some(list) = outcomes.get(&(id.clone(), ci)) else {
                continue;
            };
            let in_every = judged_in.get(&id).copied() == Some(assignments);
            let (compliance, annotation) = combine_assignments(list, in_every);
            report.rows.push(Row {
                account_id: None,
                region: None,
                group_id: Arc::from(id.as_str()),
                group_name: group_name.as_deref().map(Arc::from),
                vpc_id: vpc.as_deref().map(Arc::from),
                check: check.name(),
                compliance,
                // The whole reason: it goes to no Config API, so Config's 256 characters do not
                // apply, and a reason that names its unknowns is long.
                annotation: Arc::from(annotation.as_str()),
                exposure: None,
                location: Some((file.clone(), line)),
            });
        }
    }
}

/// NON_COMPLIANT if any assignment is, else INSUFFICIENT_DATA if any is, else COMPLIANT if any
/// is; the reason names the conditions of the assignment it comes from.
fn combine_assignments(list: &[Outcome], in_every: bool) -> (Compliance, String) {
    for wanted in [
        Compliance::NonCompliant,
        Compliance::InsufficientData,
        Compliance::Compliant,
        Compliance::NotApplicable,
    ] {
        if let Some(o) = list.iter().find(|o| o.compliance == wanted) {
            // The combination is named unless the verdict is the same in every one (a group
            // missing or unreadable in some is not).
            if o.conditions.is_empty() || (in_every && list.iter().all(|x| x.compliance == wanted))
            {
                return (wanted, o.annotation.clone());
            }
            let when = combination(o.conditions.iter().map(|(c, v)| (c, v)));
            return (wanted, format!("when {when}: {}", o.annotation));
        }
    }
    (
        Compliance::NotApplicable,
        "not created under any combination of its conditions".into(),
    )
}

/// A concrete value for every unknown (the known world leaves rules of unknown ports out).
#[derive(Clone, Debug)]
struct World {
    sources: Sources,
    /// Unknown protocols and ports are the widest (`-1`, all ports); otherwise a rule with an
    /// unknown protocol or port is left out.
    wide: bool,
    /// Unknown tag values of this key take this value, and groups the files do not define carry
    /// this tag.
    tag: Option<(String, String)>,
    /// Groups the files do not define count as load balancers' groups.
    load_balancers: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sources {
    /// Unknown sources are documentation addresses (192.0.2.1/32, 2001:db8::1/128): still a CIDR
    /// (which a tier admits only if allowed), reaching no public nor private address. With the
    /// rules of unknown protocols or ports left out, this is what the known values reach, and
    /// the checks only grow with more sources: what this world finds, every world finds.
    Known,
    Internet,
    Private,
    /// A source a check admits (`tiers`' `allowedSourceCidrs`).
    Allowed(ipnet::IpNet),
}

impl World {
    /// The known values alone.
    const KNOWN: World = World {
        sources: Sources::Known,
        wide: false,
        tag: None,
        load_balancers: false,
    };

    /// `if the unknown sources are the internet`, for a reason.
    fn condition(&self) -> String {
        let mut parts = Vec::new();
        match self.sources {
            Sources::Known => {}
            Sources::Internet => parts.push("the unknown sources are the internet".to_string()),
            Sources::Private => parts.push("the unknown sources are a private range".to_string()),
            Sources::Allowed(net) => parts.push(format!("the unknown sources are {net}")),
        }
        if let Some((k, v)) = &self.tag {
            parts.push(format!("the unknown tags and groups are {k}={v}"));
        }
        if self.load_balancers {
            parts.push("the groups not defined here are load balancers'".to_string());
        }
        if parts.is_empty() {
            "with the known values alone".into()
        } else {
            format!("if {}", parts.join(" and "))
        }
    }

    /// Whether a rule stays out of this world: one with an unknown protocol or port, in the
    /// narrow worlds.
    fn leaves_out(&self, r: &Rule) -> bool {
        let unknown_ports = r.protocol.known().is_none()
            || r.from_port.known().is_none()
            || r.to_port.known().is_none();
        unknown_ports && !self.wide
    }
}

/// The synthetic ids of one assignment's groups and peers, and what each stands for.
struct Ids {
    defined: BTreeMap<String, GroupId>,
    /// Synthetic id → the name it is shown as.
    shown: std::collections::HashMap<String, String>,
    /// Groups the files do not define (external or unknown), by synthetic or real id.
    others: BTreeSet<GroupId>,
}

type Judged = Vec<(String, Vec<Outcome>)>;

/// One group's verdict and reason per check, in one world.
type Verdicts = Vec<(Compliance, String)>;

/// Judges one assignment's groups by every check, world by world.
fn judge_defined(
    d: &Defined,
    checks: &[Check],
    wanted: &BTreeSet<&str>,
    mut graph: Option<&mut BTreeMap<crate::checks::Edge, usize>>,
) -> (Judged, Vec<(String, String)>) {
    // Known values must be valid whatever the world: a group with a bad one gets an error (and
    // no verdict); the others are judged.
    let mut bad: Vec<(String, String)> = Vec::new();
    for g in d.groups.iter().filter(|g| !g.deleted) {
        for r in g.ingress.iter().chain(&g.egress) {
            if let Err(why) = validate(r) {
                bad.push((g.id.clone(), why));
            }
        }
    }
    let mut ids = Ids {
        defined: BTreeMap::new(),
        shown: Default::default(),
        others: BTreeSet::new(),
    };
    for (i, g) in d.groups.iter().enumerate() {
        let id = GroupId::synthetic(i + 1);
        ids.shown.insert(id.to_string(), g.id.clone());
        ids.defined.insert(g.id.clone(), id);
    }
    let live: Vec<&Group> = d
        .groups
        .iter()
        .filter(|g| !g.deleted && !bad.iter().any(|(b, _)| *b == g.id))
        .collect();
    let unknowns = live.iter().any(|g| has_unknowns(g));
    let others = live.iter().any(|g| {
        g.tags
            .iter()
            .any(|(k, v)| k.known().is_none() || v.known().is_none())
            || g.ingress.iter().chain(&g.egress).any(|r| {
                matches!(
                    &r.peer,
                    Peer::Group {
                        group: GroupPeer::External(_) | GroupPeer::Unknown(_),
                        ..
                    }
                )
            })
    });
    let mut worlds = vec![World::KNOWN];
    if unknowns {
        let mut sources = vec![Sources::Internet, Sources::Private];
        let mut allowed: BTreeSet<ipnet::IpNet> = BTreeSet::new();
        for c in checks {
            allowed.extend(c.source_candidates());
        }
        sources.extend(allowed.into_iter().map(Sources::Allowed));
        for sources in sources {
            worlds.push(World {
                sources,
                wide: true,
                ..World::KNOWN
            });
        }
    }
    if others {
        let mut candidates: BTreeSet<(String, String)> = BTreeSet::new();
        for c in checks {
            candidates.extend(c.tag_candidates());
        }
        for t in candidates {
            worlds.push(World {
                wide: true,
                tag: Some(t),
                ..World::KNOWN
            });
        }
        worlds.push(World {
            wide: true,
            load_balancers: true,
            ..World::KNOWN
        });
    }
    // verdicts[world][group][check]
    let mut next = d.groups.len() + 1;
    // World by world: the models, the facts, the verdicts, then the models are dropped. A value
    // only a world makes may still be one EC2 refuses: that group gets the error, no verdict.
    // verdicts[world][live group] = the checks' verdicts (None: its model failed there).
    let mut verdicts: Vec<Vec<Option<Verdicts>>> = Vec::new();
    for w in &worlds {
        let mut models: Vec<Option<SecurityGroup>> = Vec::with_capacity(live.len());
        for g in &live {
            match model_of(g, w, &mut ids, &mut next) {
                Ok(m) => models.push(Some(m)),
                Err(e) => {
                    bad.push(e);
                    models.push(None);
                }
            }
        }
        let facts = facts_of(d, &live, &models, w, &ids);
        // The references between kinds of groups (the HTML tier map), as the known values draw
        // them.
        if let (Some(graph), Sources::Known, None) = (graph.as_deref_mut(), w.sources, &w.tag) {
            let in_hand: Vec<&SecurityGroup> = models.iter().flatten().collect();
            for c in checks {
                for (edge, n) in c.graph(&in_hand, &facts) {
                    *graph.entry(edge).or_default() += n;
                }
            }
        }
        verdicts.push(
            live.iter()
                .zip(&models)
                .map(|(g, sg)| {
                    let sg = sg.as_ref()?;
                    if !wanted.contains(g.id.as_str()) {
                        return Some(Vec::new());
                    }
                    Some(
                        checks
                            .iter()
                            .map(|c| {
                                let v = c.evaluate(sg, &facts);
                                (v.compliance(), shown(v.reason(), &ids))
                            })
                            .collect(),
                    )
                })
                .collect(),
        );
    }
    let failed: BTreeSet<usize> = (0..live.len())
        .filter(|i| verdicts.iter().any(|v| v[*i].is_none()))
        .collect();
    let position: BTreeMap<&str, usize> = live
        .iter()
        .enumerate()
        .filter(|(i, _)| !failed.contains(i))
        .map(|(i, g)| (g.id.as_str(), i))
        .collect();
    let mut out = Vec::new();
    for g in &d.groups {
        if !wanted.contains(g.id.as_str()) {
            continue;
        }
        if g.deleted {
            out.push((
                g.id.clone(),
                checks
                    .iter()
                    .map(|_| Outcome {
                        compliance: Compliance::NotApplicable,
                        annotation: "the plan deletes this group".into(),
                        conditions: Vec::new(),
                    })
                    .collect(),
            ));
            continue;
        }
        let Some(&li) = position.get(g.id.as_str()) else {
            continue;
        };
        let per_check = (0..checks.len())
            .map(|ci| {
                let seen: Vec<&(Compliance, String)> = verdicts
                    .iter()
                    .filter_map(|v| v[li].as_ref().map(|per| &per[ci]))
                    .collect();
                let (compliance, annotation) =
                    combine_worlds(g, &worlds, &seen, checks[ci].reads_egress());
                Outcome {
                    compliance,
                    annotation,
                    conditions: g.conditions.clone(),
                }
            })
            .collect();
        out.push((g.id.clone(), per_check));
    }
    (out, bad)
}

/// Worlds that agree give their verdict (the known values' reason); worlds that disagree make it
/// INSUFFICIENT_DATA, naming the unknowns and what one world found.
fn combine_worlds(
    g: &Group,
    worlds: &[World],
    seen: &[&(Compliance, String)],
    egress: bool,
) -> (Compliance, String) {
    let first = seen[0];
    if seen.iter().all(|s| s.0 == first.0) {
        return first.clone();
    }
    // Name the unknowns the disagreement is about: values (sources, protocols, ports) when a world
    // of sources disagrees, tags and groups not defined here when a world of tags or load
    // balancers does; all of them if that leaves none.
    let differs = |pred: &dyn Fn(&World) -> bool| {
        worlds
            .iter()
            .zip(seen)
            .any(|(w, s)| pred(w) && s.0 != first.0)
    };
    let by_sources = differs(&|w| w.sources != Sources::Known);
    let by_groups = differs(&|w| w.tag.is_some() || w.load_balancers);
    let mut all: Vec<(Kind, String)> = Vec::new();
    for (k, v) in &g.tags {
        for x in [k, v] {
            if let Val::Unknown(why) = x {
                all.push((Kind::Group, why.clone()));
            }
        }
    }
    // The rules of the direction the check reads.
    for r in if egress { &g.egress } else { &g.ingress } {
        all.extend(unknowns_of(r));
    }
    let relevant = |kind: Kind| match kind {
        Kind::Value => by_sources || !all.iter().any(|(k, _)| *k == Kind::Group),
        Kind::Group => by_groups,
    };
    let mut picked: Vec<&String> = all
        .iter()
        .filter(|(k, _)| relevant(*k))
        .map(|(_, w)| w)
        .collect();
    if picked.is_empty() {
        picked = all.iter().map(|(_, w)| w).collect();
    }
    let mut unknown: Vec<String> = Vec::new();
    for s in picked {
        // `Resources.Web.Properties.SecurityGroupIngress[0].CidrIp` reads as
        // `Web.SecurityGroupIngress[0].CidrIp`.
        let s = match s.strip_prefix("Resources.") {
            Some(rest) => rest.replacen(".Properties", "", 1),
            None => s.clone(),
        };
        if !unknown.contains(&s) {
            unknown.push(s);
        }
    }
    let shown_unknowns = if unknown.len() > 3 {
        format!("{} and {} more", unknown[..3].join("; "), unknown.len() - 3)
    } else {
        unknown.join("; ")
    };
    // The world that found something, else the first that disagrees with the known values.
    let other = seen
        .iter()
        .position(|s| s.0 == Compliance::NonCompliant)
        .or_else(|| seen.iter().position(|s| s.0 != first.0))
        .unwrap_or(0);
    let (c, why) = seen[other];
    let and_else = if seen[0].0 != *c {
        format!("; {} {}", seen[0].0, worlds[0].condition())
    } else {
        String::new()
    };
    (
        Compliance::InsufficientData,
        format!(
            "known only at deploy: {shown_unknowns}; {c} {}: {why}{and_else}",
            worlds[other].condition()
        ),
    )
}

/// Whether a rule of the group has a value (source, protocol, port) known only at deploy: the
/// worlds of sources then apply.
fn has_unknowns(g: &Group) -> bool {
    g.ingress
        .iter()
        .chain(&g.egress)
        .any(|r| unknowns_of(r).iter().any(|(k, _)| *k == Kind::Value))
}

/// What an unknown is about: a value of a rule (source, protocol, ports), or a group's tags (its
/// own, or those of a group the files do not define).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Value,
    Group,
}

/// What in a rule is known only at deploy (or, for a group the files do not define, its tags).
fn unknowns_of(r: &Rule) -> Vec<(Kind, String)> {
    let mut out = Vec::new();
    if let Val::Unknown(w) = &r.protocol {
        out.push((Kind::Value, w.clone()));
    }
    for p in [&r.from_port, &r.to_port] {
        if let Val::Unknown(w) = p {
            out.push((Kind::Value, w.clone()));
        }
    }
    match &r.peer {
        Peer::Ipv4(Val::Unknown(w))
        | Peer::Ipv6(Val::Unknown(w))
        | Peer::PrefixList(Val::Unknown(w))
        | Peer::Unknown(w) => out.push((Kind::Value, w.clone())),
        Peer::Group {
            group: GroupPeer::Unknown(w),
            ..
        } => out.push((Kind::Group, w.clone())),
        Peer::Group {
            group: GroupPeer::External(id),
            ..
        } => out.push((
            Kind::Group,
            format!("{}: the tags of {id} (not defined in these files)", r.at),
        )),
        _ => {}
    }
    out.dedup();
    out
}

/// Checks the known values of a rule: a protocol, ports and CIDRs EC2 would accept.
fn validate(r: &Rule) -> Result<(), String> {
    let at = &r.at;
    if let Val::Known(p) = &r.protocol {
        crate::model::Protocol::parse(p).map_err(|e| format!("{at}: protocol: {e}"))?;
    }
    match &r.peer {
        Peer::Ipv4(Val::Known(c)) => {
            c.trim()
                .parse::<ipnet::Ipv4Net>()
                .map_err(|_| format!("{at}: `{c}` is not an IPv4 CIDR (e.g. 203.0.113.0/24)"))?;
        }
        Peer::Ipv6(Val::Known(c)) => {
            c.trim()
                .parse::<ipnet::Ipv6Net>()
                .map_err(|_| format!("{at}: `{c}` is not an IPv6 CIDR (e.g. 2001:db8::/32)"))?;
        }
        _ => {}
    }
    Ok(())
}

/// The group as the model, in one world.
fn model_of(
    g: &Group,
    w: &World,
    ids: &mut Ids,
    next: &mut usize,
) -> Result<SecurityGroup, (String, String)> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for (k, v) in &g.tags {
        let key = match (k, &w.tag) {
            (Val::Known(k), _) => k.clone(),
            (Val::Unknown(_), Some((tk, _))) => tk.clone(),
            (Val::Unknown(_), None) => continue,
        };
        let value = match (v, &w.tag) {
            (Val::Known(v), _) => v.clone(),
            (Val::Unknown(_), Some((tk, tv))) if *tk == key => tv.clone(),
            (Val::Unknown(_), _) => "(known only at deploy)".into(),
        };
        tags.push((key, value));
    }
    let own = ids
        .defined
        .get(&g.id)
        .cloned()
        .unwrap_or_else(|| GroupId::synthetic(0));
    let perms = |rules: &[Rule],
                 ids: &mut Ids,
                 next: &mut usize|
     -> Result<Vec<Permission>, (String, String)> {
        let mut out = Vec::new();
        for r in rules.iter().filter(|r| !w.leaves_out(r)) {
            out.push(permission_of(r, w, ids, next).map_err(|e| (g.id.clone(), e))?);
        }
        Ok(out)
    };
    let ingress = perms(&g.ingress, ids, next)?;
    let egress = perms(&g.egress, ids, next)?;
    Ok(SecurityGroup {
        group_id: own,
        group_name: g.name.clone(),
        vpc_id: g.vpc_id.clone(),
        owner_id: None,
        tags: tags.into_iter().collect::<Tags>(),
        ingress,
        egress,
    })
}

/// The permission one rule is in a world (an unknown kind of peer is both an IPv4 and an IPv6 source).
fn permission_of(
    r: &Rule,
    w: &World,
    ids: &mut Ids,
    next: &mut usize,
) -> Result<Permission, String> {
    // Only the wide worlds keep rules with an unknown protocol or port: the widest values.
    let protocol = match &r.protocol {
        Val::Known(p) => p.clone(),
        Val::Unknown(_) => "-1".into(),
    };
    let (from, to) = (
        r.from_port.known().copied().unwrap_or(Some(0)),
        r.to_port.known().copied().unwrap_or(Some(65_535)),
    );
    // The known world's unknown sources: documentation addresses, reaching nobody.
    let (v4_nobody, v6_nobody) = ("192.0.2.1/32", "2001:db8::1/128");
    let cidr = |v: &Val<String>, v6: bool| -> String {
        match v {
            Val::Known(c) => truncated(c, v6),
            Val::Unknown(_) => match (w.sources, v6) {
                (Sources::Known, false) => v4_nobody.into(),
                (Sources::Known, true) => v6_nobody.into(),
                (Sources::Internet, false) => "0.0.0.0/0".into(),
                (Sources::Internet, true) => "::/0".into(),
                (Sources::Private, false) => "10.0.0.0/8".into(),
                (Sources::Private, true) => "fc00::/7".into(),
                (Sources::Allowed(ipnet::IpNet::V4(n)), false) => n.to_string(),
                (Sources::Allowed(ipnet::IpNet::V6(n)), true) => n.to_string(),
                (Sources::Allowed(_), false) => v4_nobody.into(),
                (Sources::Allowed(_), true) => v6_nobody.into(),
            },
        }
    };
    let named = match &r.peer {
        Peer::Ipv4(v) => Named {
            ipv4: vec![cidr(v, false)],
            ..Named::default()
        },
        Peer::Ipv6(v) => Named {
            ipv6: vec![cidr(v, true)],
            ..Named::default()
        },
        Peer::PrefixList(v) => Named {
            prefix_lists: vec![v
                .known()
                .cloned()
                .unwrap_or_else(|| "pl-(known only at deploy)".into())],
            ..Named::default()
        },
        Peer::Unknown(why) => {
            let u = Val::Unknown(why.clone());
            Named {
                ipv4: vec![cidr(&u, false)],
                ipv6: vec![cidr(&u, true)],
                ..Named::default()
            }
        }
        Peer::Group { group, owner } => {
            let id = match group {
                GroupPeer::Defined(d) => match ids.defined.get(d) {
                    Some(id) => id.clone(),
                    None => other_group(
                        ids,
                        next,
                        &format!("{d} (not created under these conditions)"),
                    ),
                },
                GroupPeer::External(e) => match GroupId::parse(e) {
                    Ok(id) => {
                        ids.others.insert(id.clone());
                        id
                    }
                    Err(_) => other_group(ids, next, &format!("the group named {e}")),
                },
                GroupPeer::Unknown(_) => other_group(ids, next, "a group known only at deploy"),
            };
            Named {
                groups: vec![(id.to_string(), owner.clone())],
                ..Named::default()
            }
        }
    };
    let Named {
        ipv4: v4,
        ipv6: v6,
        prefix_lists: pls,
        groups,
    } = &named;
    let descriptions: Vec<(&str, &str)> = match &r.description {
        Some(d) => v4
            .iter()
            .chain(v6)
            .chain(pls)
            .map(|p| (p.as_str(), d.as_str()))
            .chain(groups.iter().map(|(g, _)| (g.as_str(), d.as_str())))
            .collect(),
        None => Vec::new(),
    };
    RawPermission {
        protocol: Some(&protocol),
        from_port: from,
        to_port: to,
        ipv4: v4.iter().map(String::as_str).collect(),
        ipv6: v6.iter().map(String::as_str).collect(),
        prefix_lists: pls.iter().map(String::as_str).collect(),
        groups: groups
            .iter()
            .map(|(g, o)| (g.as_str(), o.as_deref()))
            .collect(),
        descriptions,
        legacy_ipv4: 0,
    }
    .build(&r.at, &r.at)
    .map_err(|e| match e {
        crate::model::ModelError::Invalid { field, reason, .. } => {
            format!(
                "{}: {reason}",
                field_in_template(&field, r.at.starts_with("Resources."))
            )
        }
        other => other.to_string(),
    })
}

/// The model's field names (`…ToPort`, `…fromPort`) as the template spells them.
fn field_in_template(field: &str, cloudformation: bool) -> String {
    let names = if cloudformation {
        [
            ("ipProtocol", "IpProtocol"),
            ("fromPort", "FromPort"),
            ("toPort", "ToPort"),
        ]
    } else {
        [
            ("ipProtocol", "protocol"),
            ("fromPort", "from_port"),
            ("toPort", "to_port"),
        ]
    };
    let mut out = field.to_string();
    for (model, spelled) in names {
        let pascal = model[..1].to_ascii_uppercase() + &model[1..];
        for m in [model.to_string(), pascal] {
            out = out.replace(&format!(".{m}"), &format!(".{spelled}"));
        }
    }
    out
}

/// A CIDR with its host bits cleared, as EC2 stores it (`10.1.2.3/8` is `10.0.0.0/8`).
fn truncated(c: &str, v6: bool) -> String {
    let c = c.trim();
    if v6 {
        c.parse::<ipnet::Ipv6Net>()
            .map(|n| n.trunc().to_string())
            .unwrap_or_else(|_| c.into())
    } else {
        c.parse::<ipnet::Ipv4Net>()
            .map(|n| n.trunc().to_string())
            .unwrap_or_else(|_| c.into())
    }
}

fn other_group(ids: &mut Ids, next: &mut usize, shown_as: &str) -> GroupId {
    let id = GroupId::synthetic(*next);
    *next += 1;
    ids.shown.insert(id.to_string(), shown_as.to_string());
    ids.others.insert(id.clone());
    id
}

/// The facts of one world: load balancers of the files, prefix lists as entries nobody knows
/// (never the internet nor a private range), the tags and VPCs of the groups defined.
fn facts_of(
    d: &Defined,
    live: &[&Group],
    models: &[Option<SecurityGroup>],
    w: &World,
    ids: &Ids,
) -> Facts {
    let mut facts = Facts::default();
    for (g, m) in live.iter().zip(models) {
        let Some(m) = m else { continue };
        if g.load_balancer {
            facts.load_balancer_groups.insert(m.group_id.clone());
        }
        if let Some(v) = &m.vpc_id {
            facts.group_vpcs.insert(m.group_id.clone(), v.clone());
        }
        facts
            .group_info
            .insert(m.group_id.clone(), GroupInfo::of(m));
        for p in m.ingress.iter().chain(&m.egress) {
            for pl in &p.prefix_lists {
                facts.prefix_lists.insert(pl.clone(), Vec::new());
            }
        }
    }
    for e in &d.external_load_balancer_groups {
        if let Ok(id) = GroupId::parse(e) {
            facts.load_balancer_groups.insert(id);
        }
    }
    for id in &ids.others {
        if w.load_balancers {
            facts.load_balancer_groups.insert(id.clone());
        }
        if let Some((k, v)) = &w.tag {
            facts.group_info.insert(
                id.clone(),
                GroupInfo {
                    tags: [(k.clone(), v.clone())].into(),
                    ..GroupInfo::default()
                },
            );
        }
    }
    facts
}

/// A reason with the synthetic ids shown as the groups they stand for.
fn shown(text: &str, ids: &Ids) -> String {
    // Stand-in ids are `sg-5ca9e` and 12 hex digits: each found is looked up.
    const PREFIX: &str = "sg-5ca9e";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(PREFIX) {
        out.push_str(&rest[..at]);
        let id = rest.get(at..at + PREFIX.len() + 12).unwrap_or(&rest[at..]);
        match ids.shown.get(id) {
            Some(name) => out.push_str(name),
            None => out.push_str(id),
        }
        rest = &rest[at + id.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;

//! The audit: every security group of every account and region, checked by several checks at
//! once, through the same port and verdicts as the Config rule. One batched fact look-up per
//! scope serves every check. The result is an [`AuditReport`] that `report` renders.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::checks::{Check, Facts};
use crate::cloud::{Cloud, CloudError, InMemory};
use crate::engine::{gather_facts, gather_page_facts};
use crate::inventory::{self, InputError, Inventory, Scope};
use crate::model::{GroupId, SecurityGroup};
use crate::verdict::Compliance;

/// Text that many rows share (an account, a region, a VPC, a group judged by several checks, or an
/// annotation that many groups get): one allocation, counted references. A large audit holds every
/// row.
pub type Shared = Arc<str>;

/// One group judged by one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    #[serde(serialize_with = "optional_text")]
    pub account_id: Option<Shared>,
    #[serde(serialize_with = "optional_text")]
    pub region: Option<Shared>,
    #[serde(serialize_with = "text")]
    pub group_id: Shared,
    #[serde(serialize_with = "optional_text")]
    pub group_name: Option<Shared>,
    #[serde(serialize_with = "optional_text")]
    pub vpc_id: Option<Shared>,
    pub check: &'static str,
    pub compliance: Compliance,
    #[serde(serialize_with = "text")]
    pub annotation: Shared,
    /// For a NON_COMPLIANT inbound-exposure finding with network facts: how reachable it is now,
    /// and the path (or why not).
    #[serde(skip)]
    pub exposure: Option<(crate::reach::Level, Shared)>,
    /// `scan`: the file that defines the group, and the line where it does when known.
    #[serde(skip)]
    pub location: Option<(Shared, Option<usize>)>,
}

fn text<S: serde::Serializer>(v: &Shared, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v)
}

fn optional_text<S: serde::Serializer>(v: &Option<Shared>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_some(&**v),
        None => s.serialize_none(),
    }
}

/// One shared copy of each distinct text. Bounded: past [`Interner::LIMIT`] distinct texts it
/// starts again, so texts that never repeat cost a look-up, never a growing table.
#[derive(Default)]
struct Interner(std::collections::HashSet<Shared>);

impl Interner {
    const LIMIT: usize = 4_096;

    fn get(&mut self, text: &str) -> Shared {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        if self.0.len() >= Self::LIMIT {
            self.0.clear();
        }
        let shared: Shared = Arc::from(text);
        self.0.insert(shared.clone());
        shared
    }
}

/// Whose fault an audit error is: the input's (exit 2) or AWS's (exit 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ErrorKind {
    Input,
    Aws,
}

/// A group or a whole scope that could not be audited; the rest still is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditError {
    pub kind: ErrorKind,
    pub message: String,
}

/// A check as the report describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckInfo {
    pub name: &'static str,
    pub summary: &'static str,
}

/// Counts of one slice of the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub compliant: usize,
    pub non_compliant: usize,
    pub not_applicable: usize,
    /// `scan`: verdicts that depend on values known only at deploy.
    pub insufficient_data: usize,
}

impl Tally {
    fn add(&mut self, c: Compliance) {
        match c {
            Compliance::Compliant => self.compliant += 1,
            Compliance::NonCompliant => self.non_compliant += 1,
            Compliance::NotApplicable => self.not_applicable += 1,
            Compliance::InsufficientData => self.insufficient_data += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.compliant + self.non_compliant + self.not_applicable + self.insufficient_data
    }
}

/// What an audit found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    pub checks: Vec<CheckInfo>,
    pub rows: Vec<Row>,
    pub errors: Vec<AuditError>,
    /// What the reader should know that is not an error (printed on stderr): an input without
    /// groups, older history items skipped.
    pub notes: Vec<String>,
    /// References between kinds of groups (tiers) the checks saw, with counts: the HTML report's
    /// tier map.
    pub graph: BTreeMap<crate::checks::Edge, usize>,
    /// When the report was made (RFC 3339), for the HTML report; set by the command.
    pub made_at: Option<String>,
    /// What it was made from (`files a.json, b.json`, `account 1111… in eu-west-1`, `aggregator X`).
    pub source: Option<String>,
}

impl AuditReport {
    /// Takes in a part audited apart (a region, an account, a partition): its rows, errors,
    /// notes and tier references.
    pub fn absorb(&mut self, part: AuditReport) {
        self.rows.extend(part.rows);
        self.errors.extend(part.errors);
        self.notes.extend(part.notes);
        for (edge, n) in part.graph {
            *self.graph.entry(edge).or_default() += n;
        }
    }

    pub fn new(checks: &[Check]) -> Self {
        let mut infos: Vec<CheckInfo> = Vec::new();
        for c in checks {
            if !infos.iter().any(|i| i.name == c.name()) {
                infos.push(CheckInfo {
                    name: c.name(),
                    summary: c.summary(),
                });
            }
        }
        AuditReport {
            checks: infos,
            ..Default::default()
        }
    }

    /// Counts by a key of each row (check, account, region, or everything).
    pub fn tally_by(&self, key: impl Fn(&Row) -> String) -> BTreeMap<String, Tally> {
        let mut out: BTreeMap<String, Tally> = BTreeMap::new();
        for r in &self.rows {
            out.entry(key(r)).or_default().add(r.compliance);
        }
        out
    }

    pub fn totals(&self) -> Tally {
        let mut t = Tally::default();
        for r in &self.rows {
            t.add(r.compliance);
        }
        t
    }

    /// The number of distinct groups judged.
    pub fn group_count(&self) -> usize {
        let mut ids: Vec<(&Option<Shared>, &str)> = self
            .rows
            .iter()
            .map(|r| (&r.account_id, &*r.group_id))
            .collect();
        ids.sort();
        ids.dedup();
        ids.len()
    }

    /// 0 all compliant or not applicable, 1 some non-compliant, 2 bad input, 3 AWS failure.
    pub fn exit_code(&self) -> u8 {
        if self.errors.iter().any(|e| e.kind == ErrorKind::Aws) {
            3
        } else if !self.errors.is_empty() {
            2
        } else if self
            .rows
            .iter()
            .any(|r| r.compliance == Compliance::NonCompliant)
        {
            1
        } else {
            0
        }
    }

    /// Rows in a stable order: account, region, group, then registry order of checks.
    pub fn sort(&mut self) {
        let order = |name: &str| Check::NAMES.iter().position(|n| *n == name);
        self.rows.sort_by(|a, b| {
            (&a.account_id, &a.region, &a.group_id, order(a.check)).cmp(&(
                &b.account_id,
                &b.region,
                &b.group_id,
                order(b.check),
            ))
        });
    }
}

/// Audits the groups of one scope: lists them through `cloud`, looks up facts once for all
/// checks, and adds one row per group and check (and one error per group that cannot be read).
pub async fn audit_scope<C: Cloud>(
    cloud: &C,
    scope: &Scope,
    checks: &[Check],
    report: &mut AuditReport,
) -> Result<(), CloudError> {
    let listed = cloud.list_security_groups().await?;
    // Network facts for effective exposure, when a check reports inbound exposure and the cloud
    // can read them (four paginated calls: interfaces, subnets, route tables, network ACLs).
    let networks: Option<inventory::Networks> = if checks.iter().any(Check::ingress_exposure) {
        cloud
            .network()
            .await?
            .map(|net| [(scope.account_id.clone(), net)].into())
    } else {
        None
    };
    audit_groups(cloud, scope, listed, checks, networks.as_ref(), report).await
}

/// Audits groups already read (listed, or parsed from files): facts through `cloud`, then one row
/// per group and check.
async fn audit_groups<C: Cloud>(
    cloud: &C,
    scope: &Scope,
    listed: Vec<Result<SecurityGroup, crate::model::ModelError>>,
    checks: &[Check],
    networks: Option<&inventory::Networks>,
    report: &mut AuditReport,
) -> Result<(), CloudError> {
    let mut groups: Vec<SecurityGroup> = Vec::with_capacity(listed.len());
    for g in listed {
        match g {
            Ok(g) => groups.push(g),
            Err(e) => report.errors.push(AuditError {
                kind: ErrorKind::Input,
                message: format!("{scope}: {e}"),
            }),
        }
    }
    let refs: Vec<&SecurityGroup> = groups.iter().collect();
    let check_refs: Vec<&Check> = checks.iter().collect();
    let facts = match gather_facts(cloud, &check_refs, &refs).await {
        Ok(facts) => facts,
        Err(CloudError::Offline(_)) => {
            drop(refs);
            let (rows, errors) = judge_what_can_be_told(cloud, scope, &groups, checks, networks);
            report.rows.extend(rows);
            report.errors.extend(errors);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    for check in checks {
        for (edge, n) in check.graph(&refs, &facts) {
            *report.graph.entry(edge).or_default() += n;
        }
    }
    drop(refs);
    for rows in judge_all(scope, &groups, checks, &facts, networks) {
        report.rows.extend(rows);
    }
    Ok(())
}

/// Files without the facts a verdict needs (which groups are load balancers'): each (group,
/// check) whose verdict depends on them is reported as an error naming the group, every other one
/// is judged, so one undecidable group never hides the others' rows.
fn judge_what_can_be_told<C: Cloud>(
    cloud: &C,
    scope: &Scope,
    groups: &[SecurityGroup],
    checks: &[Check],
    networks: Option<&inventory::Networks>,
) -> (Vec<Row>, Vec<AuditError>) {
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    let mut shared = Interner::default();
    for check in checks {
        let (decidable, undecidable): (Vec<&SecurityGroup>, Vec<&SecurityGroup>) = groups
            .iter()
            .partition(|g| check.needs(&[*g]).load_balancer_candidates.is_empty());
        if !undecidable.is_empty() {
            const NAMED: usize = 5;
            let mut ids: Vec<String> = undecidable
                .iter()
                .take(NAMED)
                .map(|g| g.group_id.to_string())
                .collect();
            if undecidable.len() > NAMED {
                ids.push(format!("{} more", undecidable.len() - NAMED));
            }
            errors.push(AuditError {
                kind: ErrorKind::Input,
                message: format!(
                    "{scope}: {} not judged by {}: it cannot tell whether their source groups belong to load balancers (the other groups are judged): pass --network-interfaces FILE (`aws ec2 describe-network-interfaces` output), --param loadBalancerSecurityGroupIds=sg-…, or audit with --live",
                    ids.join(", "),
                    check.name()
                ),
            });
        }
        let owned: Vec<SecurityGroup> = decidable.iter().map(|g| (*g).clone()).collect();
        match immediate(gather_facts(cloud, &[check], &decidable)) {
            Ok(facts) => judge_rows(
                scope,
                &owned,
                std::slice::from_ref(check),
                &facts,
                networks,
                &mut shared,
                &mut rows,
            ),
            Err(e) => errors.push(scope_error(scope, &e)),
        }
    }
    (rows, errors)
}

/// One row per group and check, in chunks. The verdicts are pure, so large scopes are judged on
/// every core.
fn judge_all(
    scope: &Scope,
    groups: &[SecurityGroup],
    checks: &[Check],
    facts: &Facts,
    networks: Option<&inventory::Networks>,
) -> Vec<Vec<Row>> {
    let judge = |chunk: &[SecurityGroup]| {
        let mut rows = Vec::with_capacity(chunk.len() * checks.len());
        judge_rows(
            scope,
            chunk,
            checks,
            facts,
            networks,
            &mut Interner::default(),
            &mut rows,
        );
        rows
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || groups.len() < 2_000 {
        return vec![judge(groups)];
    }
    let size = groups.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = groups.chunks(size).map(|c| s.spawn(|| judge(c))).collect();
        // A panicking verdict is a bug (the fuzzer looks for them): pass it on as it was.
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

fn judge_rows(
    scope: &Scope,
    groups: &[SecurityGroup],
    checks: &[Check],
    facts: &Facts,
    networks: Option<&inventory::Networks>,
    shared: &mut Interner,
    rows: &mut Vec<Row>,
) {
    let region = scope.region.as_deref().map(|r| shared.get(r));
    for sg in groups {
        let account = scope.account_id.as_ref().or(sg.owner_id.as_ref());
        let account = account.map(|a| shared.get(a));
        let vpc = sg.vpc_id.as_deref().map(|v| shared.get(v));
        let id: Shared = Arc::from(sg.group_id.as_str());
        let name: Option<Shared> = sg.group_name.as_deref().map(Arc::from);
        let network = networks.and_then(|n| network_of(n, sg));
        for check in checks {
            let (compliance, annotation) = check.judge(sg, facts).0.into_parts();
            // Many groups get the same annotation ("not tagged tier:web…"): kept once.
            let annotation = shared.get(&annotation);
            let exposure = match (network, compliance) {
                (Some(net), Compliance::NonCompliant) => {
                    let flagged = check.flagged(sg, facts);
                    (!flagged.is_empty()).then(|| {
                        let r = net.reachability(&sg.group_id, &flagged);
                        (r.level, shared.get(&r.path))
                    })
                }
                _ => None,
            };
            rows.push(Row {
                account_id: account.clone(),
                region: region.clone(),
                group_id: id.clone(),
                group_name: name.clone(),
                vpc_id: vpc.clone(),
                check: check.name(),
                compliance,
                annotation,
                exposure,
                location: None,
            });
        }
    }
}

/// The network facts of a group's account (or the only ones given).
fn network_of<'a>(
    networks: &'a inventory::Networks,
    sg: &SecurityGroup,
) -> Option<&'a crate::reach::Network> {
    networks.get(&sg.owner_id).or_else(|| {
        (networks.len() == 1)
            .then(|| networks.values().next())
            .flatten()
    })
}

/// Audits input files: `describe-security-groups` output is judged while it is parsed (see
/// [`audit_described`]); Config query results and configuration items are read, then audited per
/// account and region. `interfaces` (`describe-network-interfaces` output) tell which groups
/// belong to load balancers, in every scope.
pub async fn audit_files(
    inputs: &[PathBuf],
    interfaces: &[PathBuf],
    checks: &[Check],
) -> Result<AuditReport, InputError> {
    let mut load_balancers: Option<BTreeSet<GroupId>> = None;
    for path in interfaces {
        load_balancers
            .get_or_insert_with(BTreeSet::new)
            .extend(inventory::read_interface_groups(path)?);
    }
    let mut report = AuditReport::new(checks);
    let mut inventory = Inventory::default();
    // Network facts first (interfaces, subnets, route tables, NACLs, whatever their order on the
    // command line), so groups judged while their file is read know them.
    for path in interfaces {
        let name = path.display().to_string();
        let value: serde_json::Value = serde_json::from_slice(&inventory::read_bytes(path)?)
            .map_err(|e| InputError::NotJson {
                path: name.clone(),
                reason: e.to_string(),
            })?;
        let value = match value {
            list @ serde_json::Value::Array(_) => serde_json::json!({ "NetworkInterfaces": list }),
            other => other,
        };
        inventory::add_network(&mut inventory.networks, &name, &value)?;
    }
    let mut rest = Vec::new();
    for path in inputs {
        let bytes = inventory::read_bytes(path)?;
        if inventory::is_network_output(&bytes) {
            let name = path.display().to_string();
            inventory.add_bytes(&name, &bytes)?;
            // Interfaces given with --input also tell which groups are load balancers'.
            if let Ok(lb) = inventory::read_interface_groups(path) {
                load_balancers.get_or_insert_with(BTreeSet::new).extend(lb);
            }
        } else {
            rest.push((path, bytes));
        }
    }
    let networks = inventory::finish_networks(std::mem::take(&mut inventory.networks));
    let with_networks = (!networks.is_empty()).then_some(&networks);
    // A check that reads other groups' tags needs every group of a scope in hand: no page-by-page.
    let paged = !checks.iter().any(Check::reads_group_info);
    for (path, bytes) in rest {
        let name = path.display().to_string();
        let described = if paged {
            audit_described(
                &name,
                &bytes,
                checks,
                load_balancers.as_ref(),
                with_networks,
            )?
        } else {
            None
        };
        match described {
            Some(described) => {
                drop(bytes); // before the rows are gathered into one list
                if described.groups == 0 {
                    report.notes.push(format!("no security groups in {name}"));
                }
                described.add_to(&mut report);
            }
            None => {
                let read = inventory.add_bytes(&name, &bytes)?;
                if read.nothing_to_judge(&name)? {
                    report.notes.push(format!("no security groups in {name}"));
                }
                if read.older > 0 {
                    report.notes.push(format!(
                        "{name}: judged the newest configuration item of each group; skipped {} older ones",
                        read.older
                    ));
                }
            }
        }
    }
    inventory.networks = networks;
    if load_balancers.is_some() {
        for data in inventory.scopes.values_mut() {
            data.load_balancer_groups = load_balancers.clone();
        }
    }
    report.absorb(audit_inventory(inventory, checks).await);
    report.sort();
    Ok(report)
}

/// The rows of one `describe-security-groups` file, as its workers left them: one list per page,
/// each of its exact size, so no list is ever grown by doubling.
#[derive(Debug, Default)]
pub struct Described {
    pages: Vec<Vec<Row>>,
    errors: Vec<AuditError>,
    /// Groups read (valid or not).
    pub groups: usize,
}

impl Described {
    /// Moves the rows into `report` (one allocation of their exact total; each page is freed as it
    /// is moved) and adds the errors.
    pub fn add_to(self, report: &mut AuditReport) {
        report
            .rows
            .reserve_exact(self.pages.iter().map(Vec::len).sum());
        for page in self.pages {
            report.rows.extend(page);
        }
        report.errors.extend(self.errors);
    }
}

/// Audits `describe-security-groups` output while it is parsed: pages of 1,000 groups go to a
/// worker per core as soon as they are read, and only the rows are kept, so memory holds the file,
/// the rows and a few pages, never every group's model. `Ok(None)` when the bytes are some other
/// input. Facts come from `load_balancers` and the file itself (every group's VPC, read in a quick
/// pass on a thread of its own while the parse goes on, when a check asks for VPCs). The caller can
/// free the file before it gathers the rows ([`Described::add_to`]).
pub fn audit_described(
    name: &str,
    bytes: &[u8],
    checks: &[Check],
    load_balancers: Option<&BTreeSet<GroupId>>,
    networks: Option<&inventory::Networks>,
) -> Result<Option<Described>, InputError> {
    const PAGE: usize = 1_000;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let vpcs = std::sync::OnceLock::new();
    let check_refs: Vec<&Check> = checks.iter().collect();
    // Deep enough that the parser keeps going for a while as the VPC index is built (the workers
    // wait for it). A page of 1,000 models is about 2 MB: on the bench's snapshot 16 pages in
    // flight saved 60-80 ms and cost 27 MB of peak over 2; 8 pages peaked once at 206 MB for a
    // 104 MB file (the target is twice the file); 4 stay under 190 MB and cost about 30 ms.
    let (tx, rx) = std::sync::mpsc::sync_channel::<inventory::Page>(2 * workers);
    let rx = std::sync::Mutex::new(rx);
    let index = || inventory::VpcIndex::of_describe_output(bytes);
    let work = || {
        let cloud = InMemory {
            load_balancer_groups: load_balancers.cloned(),
            ..InMemory::default()
        };
        let (mut pages, mut errors, mut failed) = (Vec::new(), Vec::new(), None);
        let mut shared = Interner::default();
        loop {
            let next = rx.lock().map(|rx| rx.recv());
            let Ok(Ok(page)) = next else { break };
            if failed.is_some() {
                continue; // keep draining, so the parser never waits on a worker that stopped
            }
            let mut groups = Vec::with_capacity(page.len());
            for g in page {
                match g {
                    Ok(g) => groups.push(g),
                    Err(e) => errors.push(AuditError {
                        kind: ErrorKind::Input,
                        message: format!("{}: {e}", Scope::default()),
                    }),
                }
            }
            let refs: Vec<&SecurityGroup> = groups.iter().collect();
            // Built when a verdict first needs a group's VPC (web-tier), if not already.
            let vpc_of = |id: &GroupId| vpcs.get_or_init(index).get(id);
            match immediate(gather_page_facts(&cloud, &check_refs, &refs, &vpc_of)) {
                Ok(facts) => {
                    let mut rows = Vec::with_capacity(groups.len() * checks.len());
                    judge_rows(
                        &Scope::default(),
                        &groups,
                        checks,
                        &facts,
                        networks,
                        &mut shared,
                        &mut rows,
                    );
                    pages.push(rows);
                }
                Err(CloudError::Offline(_)) => {
                    let (rows, more) = judge_what_can_be_told(
                        &cloud,
                        &Scope::default(),
                        &groups,
                        checks,
                        networks,
                    );
                    pages.push(rows);
                    errors.extend(more);
                }
                Err(e) => {
                    let scope = Scope {
                        account_id: groups.first().and_then(|g| g.owner_id.clone()),
                        region: None,
                    };
                    failed = Some(scope_error(&scope, &e));
                }
            }
        }
        (pages, errors, failed)
    };
    let (found, results) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers).map(|_| s.spawn(work)).collect();
        let mut indexing = None;
        let mut groups = 0;
        let found = inventory::describe_pages(name, bytes, PAGE, &mut |page| {
            groups += page.len();
            // Once the file is known to be describe output, and its first page needs VPCs: the
            // index on its own thread, while the parse goes on (a worker that needs it first
            // waits for it). Checks that never ask for a VPC never pay for the index.
            indexing.get_or_insert_with(|| {
                let refs: Vec<&SecurityGroup> =
                    page.iter().filter_map(|g| g.as_ref().ok()).collect();
                let needed = checks.iter().any(|c| !c.needs(&refs).vpcs_of.is_empty());
                needed.then(|| {
                    s.spawn(|| {
                        vpcs.get_or_init(index);
                    })
                })
            });
            let _ = tx.send(page);
        });
        drop(tx);
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        (found.map(|f| (f, groups)), results)
    });
    let (found, groups) = found?;
    if !found {
        return Ok(None);
    }
    // One error for a file whose facts are missing, and then no rows from it (as for a scope).
    let failed = results.iter().find_map(|(_, _, f)| f.clone());
    let mut described = Described {
        groups,
        ..Described::default()
    };
    for (pages, errors, _) in results {
        if failed.is_none() {
            described.pages.extend(pages);
        }
        described.errors.extend(errors);
    }
    described.errors.extend(failed);
    Ok(Some(described))
}

/// Runs a future that completes without waiting: the in-memory cloud's answers.
fn immediate<T>(f: impl Future<Output = Result<T, CloudError>>) -> Result<T, CloudError> {
    let mut f = std::pin::pin!(f);
    match f
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => Err(CloudError::Offline(
            "an in-memory fact look-up did not answer at once",
        )),
    }
}

/// Audits groups read from files: each scope through an in-memory cloud.
pub async fn audit_inventory(inventory: Inventory, checks: &[Check]) -> AuditReport {
    let mut report = AuditReport::new(checks);
    let networks = inventory::finish_networks(inventory.networks);
    for (scope, data) in inventory.scopes {
        // The groups are judged where they are; the in-memory cloud only answers the fact look-ups.
        // Checks that read other groups' tags find them among the scope's groups.
        let in_hand = checks
            .iter()
            .any(Check::reads_group_info)
            .then(|| data.groups.clone());
        let cloud = InMemory {
            load_balancer_groups: data.load_balancer_groups,
            region: scope.region.clone(),
            groups: in_hand,
            ..InMemory::default()
        };
        if let Err(e) = audit_groups(
            &cloud,
            &scope,
            data.groups,
            checks,
            (!networks.is_empty()).then_some(&networks),
            &mut report,
        )
        .await
        {
            report.errors.push(scope_error(&scope, &e));
        }
    }
    report.sort();
    report
}

/// A scope that failed as a whole, classified for the exit status.
pub fn scope_error(scope: &Scope, e: &CloudError) -> AuditError {
    match e {
        CloudError::Offline(_) => AuditError {
            kind: ErrorKind::Input,
            message: format!(
                "{scope}: the web-tier check must know which source groups belong to load balancers: pass --network-interfaces FILE (`aws ec2 describe-network-interfaces` output), --param loadBalancerSecurityGroupIds=sg-…, or audit with --live"
            ),
        },
        other => AuditError {
            kind: ErrorKind::Aws,
            message: format!("{scope}: {other}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inventory(value: serde_json::Value) -> Inventory {
        let mut inv = Inventory::default();
        inv.add_json("test", value).unwrap();
        inv
    }

    fn checks(pairs: &[&[(&str, &str)]]) -> Vec<Check> {
        pairs
            .iter()
            .map(|p| Check::from_pairs(p).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn every_group_and_check_gets_a_row_and_the_exit_code_follows() {
        let inv = inventory(json!({"SecurityGroups": [
            {"GroupId": "sg-0000000a", "OwnerId": "1", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]},
            {"GroupId": "sg-0000000b", "OwnerId": "1", "IpPermissions": []},
            {"GroupId": "sg-0000000c", "OwnerId": "1", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 99999, "ToPort": 1}]}
        ]}));
        let cs = checks(&[
            &[("check", "public-ingress")],
            &[("check", "broad-private-ingress")],
        ]);
        let report = audit_inventory(inv, &cs).await;
        assert_eq!(report.rows.len(), 4);
        assert_eq!(report.group_count(), 2);
        assert_eq!(report.errors.len(), 1);
        assert!(
            report.errors[0].message.contains("sg-0000000c"),
            "{:?}",
            report.errors
        );
        assert_eq!(report.exit_code(), 2);
        let by_check = report.tally_by(|r| r.check.to_string());
        assert_eq!(by_check["public-ingress"].non_compliant, 1);
        assert_eq!(by_check["broad-private-ingress"].non_compliant, 1);
        assert_eq!(report.rows[0].account_id.as_deref(), Some("1"));
    }

    /// 2,500 web-tier groups in vpc-1 with nothing allowed, one malformed group, and two listed
    /// load balancers' groups at the end of the file (on the last page): one in vpc-1, one in vpc-2.
    fn large_describe() -> Vec<u8> {
        let mut groups: Vec<serde_json::Value> = (0..2_500)
            .map(|i| {
                json!({"GroupId": format!("sg-{i:017x}"), "OwnerId": "1", "VpcId": "vpc-1",
                             "Tags": [{"Key": "tier", "Value": "web"}], "IpPermissions": []})
            })
            .collect();
        groups.push(
            json!({"GroupId": "sg-0000000e", "IpPermissions": [{"FromPort": 1, "ToPort": 2}]}),
        );
        groups.push(json!({"GroupId": "sg-0000000a", "OwnerId": "1", "VpcId": "vpc-1", "IpPermissions": []}));
        groups.push(json!({"GroupId": "sg-0000000b", "OwnerId": "1", "VpcId": "vpc-2", "IpPermissions": []}));
        serde_json::to_vec(&json!({"SecurityGroups": groups})).unwrap()
    }

    /// `audit_described`, its rows added to `report`: whether the bytes were describe output.
    fn described(
        name: &str,
        bytes: &[u8],
        checks: &[Check],
        report: &mut AuditReport,
    ) -> Result<bool, InputError> {
        let found = audit_described(name, bytes, checks, None, None)?;
        Ok(found.map(|d| d.add_to(report)).is_some())
    }

    #[test]
    fn interner_shares_each_text_and_stays_bounded() {
        let mut shared = Interner::default();
        let a = shared.get("not tagged tier:web");
        assert!(Arc::ptr_eq(&a, &shared.get("not tagged tier:web")));
        for i in 0..Interner::LIMIT + 10 {
            assert_eq!(&*shared.get(&i.to_string()), i.to_string());
        }
        assert!(shared.0.len() <= Interner::LIMIT);
    }

    #[test]
    fn describe_output_is_judged_page_by_page_with_every_groups_vpc_known() {
        let listed = checks(&[&[
            ("tierTagKey", "tier"),
            ("loadBalancerSecurityGroupIds", "sg-0000000a,sg-0000000b"),
        ]]);
        let mut report = AuditReport::new(&listed);
        let found = described("big.json", &large_describe(), &listed, &mut report).unwrap();
        assert!(found);
        assert_eq!(report.rows.len(), 2_502, "every valid group, once");
        assert_eq!(report.group_count(), 2_502);
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        assert!(report.errors[0].message.contains("IpProtocol"));
        // A group on the first page knows the load balancers on the last one, and their VPCs:
        // the fix authorizes the one in its own VPC only.
        let first = &report.rows[0];
        assert_eq!(first.compliance, Compliance::NonCompliant);
        assert!(
            first.annotation.contains("sg-0000000a"),
            "{}",
            first.annotation
        );
        assert!(
            !first.annotation.contains("sg-0000000b"),
            "{}",
            first.annotation
        );
        assert_eq!(first.account_id.as_deref(), Some("1"));
    }

    #[test]
    fn groups_whose_verdict_needs_missing_facts_are_named_and_the_rest_judged() {
        let discover = checks(&[&[("tierTagKey", "tier")], &[("check", "public-ingress")]]);
        let mut report = AuditReport::new(&discover);
        assert!(described("big.json", &large_describe(), &discover, &mut report).unwrap());
        // Every valid group under public-ingress; the two untagged ones under web-tier too.
        assert_eq!(report.rows.len(), 2_502 + 2, "{:?}", report.errors);
        let offline: Vec<_> = report
            .errors
            .iter()
            .filter(|e| e.message.contains("--network-interfaces"))
            .collect();
        // One line per page of 1,000 groups, each naming its groups.
        assert_eq!(offline.len(), 3, "{:?}", report.errors);
        assert!(
            offline
                .iter()
                .any(|e| e.message.contains("sg-00000000000000000, ")
                    && e.message.contains("995 more not judged by web-tier")),
            "{offline:?}"
        );
        assert_eq!(report.exit_code(), 2, "missing facts are an input problem");
        // Config query output is not describe output: left to the inventory.
        let results = serde_json::to_vec(&json!({"Results": []})).unwrap();
        assert!(!described("r.json", &results, &discover, &mut report).unwrap());
        assert!(!described("bad.json", b"{\"Results\": [", &discover, &mut report).unwrap());
        // Broken inside `SecurityGroups`: the error names the field.
        let err = described(
            "bad.json",
            br#"{"SecurityGroups": [{"GroupId": "sg-0000000a", "IpPermissions": [{"FromPort": "22"}]}]}"#,
            &discover,
            &mut report,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("SecurityGroups[0].IpPermissions[0].FromPort"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn web_tier_needs_load_balancer_facts_offline() {
        let inv = inventory(json!({"SecurityGroups": [
            {"GroupId": "sg-0000000a", "Tags": [{"Key": "tier", "Value": "web"}], "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": "sg-0000000f"}]}]}
        ]}));
        let cs = checks(&[&[("tierTagKey", "tier")]]);
        let report = audit_inventory(inv.clone(), &cs).await;
        assert_eq!(report.exit_code(), 2);
        assert!(report.errors[0].message.contains("--network-interfaces"));
        let mut with_enis = inv;
        for s in with_enis.scopes.values_mut() {
            s.load_balancer_groups =
                Some([crate::model::GroupId::parse("sg-0000000f").unwrap()].into());
        }
        let report = audit_inventory(with_enis, &cs).await;
        assert_eq!(report.exit_code(), 0, "{:?}", report);
        assert_eq!(report.rows[0].compliance, Compliance::Compliant);
    }

    /// Config query results carry the network facts too (the aggregator's query selects
    /// interfaces, subnets, route tables and NACLs): their camelCase configuration is the describe
    /// shape, and the findings get their effective exposure.
    #[tokio::test]
    async fn config_items_of_network_resources_give_effective_exposure() {
        let item = |t: &str, conf: serde_json::Value| {
            json!({"accountId": "111122223333", "awsRegion": "eu-west-1", "resourceType": t, "configuration": conf.to_string()}).to_string()
        };
        let results = vec![
            item(
                "AWS::EC2::SecurityGroup",
                json!({"groupId": "sg-0123abcd", "vpcId": "vpc-1", "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]}]}),
            ),
            item(
                "AWS::EC2::NetworkInterface",
                json!({"networkInterfaceId": "eni-1", "subnetId": "subnet-1", "vpcId": "vpc-1", "groups": [{"groupId": "sg-0123abcd", "groupName": "g"}], "association": {"publicIp": "54.1.2.3"}, "ipv6Addresses": [], "description": ""}),
            ),
            item(
                "AWS::EC2::Subnet",
                json!({"subnetId": "subnet-1", "vpcId": "vpc-1"}),
            ),
            item(
                "AWS::EC2::RouteTable",
                json!({"routeTableId": "rtb-1", "vpcId": "vpc-1", "associations": [{"main": true}], "routes": [{"destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-1", "state": "active"}]}),
            ),
            item(
                "AWS::EC2::NetworkAcl",
                json!({"networkAclId": "acl-1", "vpcId": "vpc-1", "isDefault": true, "associations": [], "entries": [
                {"ruleNumber": 100, "protocol": "-1", "ruleAction": "allow", "egress": false, "cidrBlock": "0.0.0.0/0"},
                {"ruleNumber": 100, "protocol": "-1", "ruleAction": "allow", "egress": true, "cidrBlock": "0.0.0.0/0"}]}),
            ),
        ];
        let inv = inventory(json!({ "Results": results }));
        let cs = checks(&[&[("check", "public-ingress"), ("blockedTcpPorts", "22")]]);
        let report = audit_inventory(inv, &cs).await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(report.rows.len(), 1);
        let (level, path) = report.rows[0].exposure.clone().expect("an exposure");
        assert_eq!(level, crate::reach::Level::Internet);
        assert_eq!(
            &*path,
            "eni-1 54.1.2.3 in subnet-1 via igw-1 (rtb-1), nacl acl-1 rule 100"
        );
    }
}

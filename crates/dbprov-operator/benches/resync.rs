//! Resync benchmark (issue 4): the reconcile path the controllers call — hints from the status and the
//! credentials Secret, the shared prepare/run phases through `dbprov_operator::converge`, the status written
//! back — driven in-process over 1,000 `Database` + 1,000 `DatabaseUser` objects on a throwaway PostgreSQL,
//! with objects and Secrets in memory instead of an API server.
//!
//! Reports the time to bring every object to Ready, the CPU time (getrusage) and wall time of a no-change
//! resync of all of them, and peak RSS (VmHWM); and, in the same run, the engine's own no-change plan of the
//! same objects (inspect + plan only) as the baseline. Targets: peak RSS ≤ 64 MiB; a resync within 2× the
//! engine plan time.
//!
//! `cargo bench -p dbprov-operator --bench resync` (`DBPROV_BENCH_N` changes the count per kind,
//! `DBPROV_BENCH_ROUNDS` the resync rounds; the best round of each side is reported).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dbprov_api::{Kind, Resource};
use dbprov_core::Engine;
use dbprov_core::model::{CatalogRequest, DatabaseSpec, RoleSpec};
use dbprov_operator::annotations::ANNOTATION_PASSWORD_FINGERPRINT;
use dbprov_operator::converge::{Item, converge};
use dbprov_operator::{hints, status};
use dbprov_reconcile::index::GrantIndex;
use dbprov_reconcile::{
    Context, ObjectRef, ObjectSource, SecretObject, SecretStore, SourceError, StoredSecret, prepare,
    reconcile_instance,
};
use dbprov_testkit::{PgServer, ServerAddress};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::json;

const NAMESPACE: &str = "bench";

/// Objects and Secrets in memory: what the informer caches and the Secrets API are to the operator.
#[derive(Default)]
struct Memory {
    objects: RwLock<BTreeMap<ObjectRef, Resource>>,
    secrets: Mutex<BTreeMap<(String, String), StoredSecret>>,
}

impl Memory {
    fn insert(&self, resource: Resource) {
        let object = ObjectRef::of(&resource).expect("bench objects are API kinds");
        self.objects
            .write()
            .expect("objects lock")
            .insert(object, resource);
    }

    fn of_kind(&self, kind: Kind) -> Vec<Resource> {
        self.objects
            .read()
            .expect("objects lock")
            .iter()
            .filter(|(object, _)| object.kind == kind)
            .map(|(_, resource)| resource.clone())
            .collect()
    }

    fn annotate(&self, namespace: &str, name: &str, key: &str, value: &str) {
        if let Some(secret) = self
            .secrets
            .lock()
            .expect("secrets lock")
            .get_mut(&(namespace.to_owned(), name.to_owned()))
        {
            secret.annotations.insert(key.to_owned(), value.to_owned());
        }
    }
}

#[async_trait]
impl ObjectSource for Memory {
    async fn get(&self, object: &ObjectRef) -> Result<Option<Resource>, SourceError> {
        Ok(self.objects.read().expect("objects lock").get(object).cloned())
    }

    async fn list(&self, kind: Kind, namespace: Option<&str>) -> Result<Vec<Resource>, SourceError> {
        Ok(self
            .of_kind(kind)
            .into_iter()
            .filter(|resource| namespace.is_none() || resource.namespace() == namespace)
            .collect())
    }

    async fn instance_ready(&self, instance: &ObjectRef) -> Result<bool, SourceError> {
        Ok(ObjectSource::get(self, instance)
            .await?
            .as_ref()
            .is_some_and(dbprov_operator::world::instance_is_ready))
    }
}

#[async_trait]
impl SecretStore for Memory {
    async fn get(&self, namespace: &str, name: &str) -> Result<Option<StoredSecret>, SourceError> {
        Ok(self
            .secrets
            .lock()
            .expect("secrets lock")
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned())
    }

    async fn put(&self, secret: &SecretObject) -> Result<(), SourceError> {
        let mut secrets = self.secrets.lock().expect("secrets lock");
        let stored = secrets
            .entry((secret.namespace.clone(), secret.name.clone()))
            .or_default();
        stored.data = secret
            .data
            .iter()
            .map(|(key, value)| (key.clone(), value.expose().as_bytes().to_vec()))
            .collect();
        stored.labels = secret.labels.clone();
        stored.annotations.extend(secret.annotations.clone());
        Ok(())
    }

    async fn delete(&self, namespace: &str, name: &str) -> Result<(), SourceError> {
        self.secrets
            .lock()
            .expect("secrets lock")
            .remove(&(namespace.to_owned(), name.to_owned()));
        Ok(())
    }
}

fn parse(value: serde_json::Value) -> Resource {
    dbprov_api::parse_document(value).expect("bench objects are valid")
}

fn metadata(name: &str) -> serde_json::Value {
    json!({"name": name, "namespace": NAMESPACE, "generation": 1, "uid": format!("uid-{name}")})
}

fn populate(memory: &Memory, server: &ServerAddress, count: usize) {
    memory.secrets.lock().expect("secrets lock").insert(
        (NAMESPACE.to_owned(), "pg-admin".to_owned()),
        StoredSecret {
            data: BTreeMap::from([
                ("username".to_owned(), server.admin_user.clone().into_bytes()),
                ("password".to_owned(), server.admin_password.clone().into_bytes()),
            ]),
            ..StoredSecret::default()
        },
    );
    memory.insert(parse(json!({
        "apiVersion": "dbops.dbprovision.io/v1alpha1", "kind": "DatabaseInstance",
        "metadata": metadata("pg"),
        "spec": {
            "engine": "postgres",
            "connection": {"host": server.host, "port": server.port, "database": "postgres",
                           "secretRef": {"name": "pg-admin"}},
            "postgres": {"sslMode": "disable"}
        }
    })));
    for index in 0..count {
        memory.insert(parse(json!({
            "apiVersion": "dbops.dbprovision.io/v1alpha1", "kind": "Database",
            "metadata": metadata(&format!("db-{index:04}")),
            "spec": {"instanceRef": {"name": "pg"}, "name": format!("bench_db_{index:04}"),
                     "deletionProtection": false}
        })));
        memory.insert(parse(json!({
            "apiVersion": "dbops.dbprovision.io/v1alpha1", "kind": "DatabaseUser",
            "metadata": metadata(&format!("user-{index:04}")),
            "spec": {"instanceRef": {"name": "pg"}, "username": format!("bench_user_{index:04}"),
                     "passwordSecret": {"secretName": format!("user-{index:04}-credentials"),
                                        "length": 24, "includeSpecialChars": false}}
        })));
    }
}

/// One pass over `resources`, as the controllers do it: hints, converge, status (and the fingerprint
/// annotation). Returns how many are Ready and how many statements ran.
async fn pass(
    ctx: &Context,
    memory: &Memory,
    index: &GrantIndex,
    resources: Vec<Resource>,
) -> (usize, usize) {
    let mut items = Vec::with_capacity(resources.len());
    for resource in &resources {
        let credentials = match hints::managed_credentials(resource) {
            Some((namespace, name)) => SecretStore::get(memory, &namespace, &name)
                .await
                .expect("memory never fails"),
            None => None,
        };
        items.push(Item {
            hints: hints::hints(resource, credentials.as_ref()),
            resource: resource.clone(),
        });
    }
    let converged = converge(ctx, index, items).await;
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let mut ready = 0;
    let mut executed = 0;
    for (mut resource, result) in resources.into_iter().zip(converged) {
        executed += result.outcome.executed.len();
        if let Some(failure) = &result.outcome.failure {
            eprintln!("{}: {failure}", result.object);
        }
        status::record(&mut resource, &result.outcome, &now, "bench");
        if let (Some((namespace, name)), Some(fingerprint)) = (
            hints::managed_credentials(&resource),
            &result.outcome.password_fingerprint,
        ) {
            memory.annotate(&namespace, &name, ANNOTATION_PASSWORD_FINGERPRINT, fingerprint);
        }
        if status::is_ready(&resource) {
            ready += 1;
        }
        memory.insert(resource);
    }
    (ready, executed)
}

/// CPU time (user + system) of this process so far.
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a complete rusage into the buffer it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        assert_eq!(
            libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()),
            0,
            "getrusage"
        );
        usage.assume_init()
    };
    let time = |value: libc::timeval| {
        Duration::from_secs(value.tv_sec as u64) + Duration::from_micros(value.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Peak resident set size of this process (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .expect("VmHWM in /proc/self/status")
}

/// CPU and wall time of `work`.
async fn measure<T>(work: impl Future<Output = T>) -> (T, Duration, Duration) {
    let (cpu, wall) = (cpu_time(), Instant::now());
    let value = work.await;
    (value, cpu_time() - cpu, wall.elapsed())
}

/// The engine's own no-change plan of the same objects: one catalog read per phase, then plan each.
async fn engine_plan(engine: &dyn Engine, databases: &[DatabaseSpec], roles: &[RoleSpec]) -> usize {
    let mut request = CatalogRequest::default();
    for database in databases {
        request = request.database(database.name.clone(), database.postgres.needs_inside());
    }
    let catalog = engine.inspect(&request).await.expect("inspect databases");
    let mut steps = 0;
    for database in databases {
        steps += engine
            .plan_database(database, &catalog)
            .expect("plan database")
            .steps
            .len();
    }
    let mut request = CatalogRequest::default();
    for role in roles {
        request = request.role(role.name.clone());
    }
    let catalog = engine.inspect(&request).await.expect("inspect roles");
    for role in roles {
        steps += engine.plan_role(role, &catalog).expect("plan role").steps.len();
    }
    steps
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn seconds(value: Duration) -> String {
    format!("{:.3} s", value.as_secs_f64())
}

async fn bench(server: &ServerAddress, count: usize, rounds: usize) {
    let memory = Arc::new(Memory::default());
    populate(&memory, server, count);
    let ctx = Context::new(memory.clone(), memory.clone());

    // Time to all-Ready: the instance's health check, then passes over everything not Ready yet.
    let started = Instant::now();
    let instance = ObjectRef::new(Kind::DatabaseInstance, Some(NAMESPACE), "pg");
    let outcome = reconcile_instance(&ctx, &instance).await;
    assert!(outcome.is_ok(), "instance: {:?}", outcome.failure);
    let mut resource = memory.objects.read().expect("objects lock")[&instance].clone();
    status::record(
        &mut resource,
        &outcome,
        &Time(k8s_openapi::jiff::Timestamp::now()),
        "bench",
    );
    memory.insert(resource);
    let index = GrantIndex::build(&ctx).await.expect("index");
    let total = 2 * count;
    let mut ready = 0;
    for _ in 0..3 {
        let pending: Vec<Resource> = [Kind::Database, Kind::DatabaseUser]
            .into_iter()
            .flat_map(|kind| memory.of_kind(kind))
            .filter(|resource| !status::is_ready(resource))
            .collect();
        if pending.is_empty() {
            break;
        }
        pass(&ctx, &memory, &index, pending).await;
        ready = [Kind::Database, Kind::DatabaseUser]
            .into_iter()
            .flat_map(|kind| memory.of_kind(kind))
            .filter(status::is_ready)
            .count();
    }
    let to_ready = started.elapsed();
    assert_eq!(ready, total, "every object became Ready");

    // The index the controllers cache (rebuilt only when a declaration changes).
    let (index, _, index_wall) = measure(GrantIndex::build(&ctx)).await;
    let index = index.expect("index");

    // The baseline's specs: exactly what the resync plans (prepared outside the timing).
    let mut databases = Vec::new();
    let mut roles = Vec::new();
    for kind in [Kind::Database, Kind::DatabaseUser] {
        for resource in memory.of_kind(kind) {
            let credentials = match hints::managed_credentials(&resource) {
                Some((namespace, name)) => SecretStore::get(memory.as_ref(), &namespace, &name)
                    .await
                    .expect("memory never fails"),
                None => None,
            };
            let prepared = prepare(
                &ctx,
                &resource,
                &index,
                hints::hints(&resource, credentials.as_ref()),
            )
            .await
            .expect("prepared");
            databases.extend(prepared.database);
            roles.extend(prepared.role.map(|role| role.spec));
        }
    }
    let resolved = dbprov_reconcile::resolve_instance(&ctx, &instance, false)
        .await
        .expect("instance");
    let engine: Arc<dyn Engine> = Arc::from(
        dbprov_engines::connect(resolved.kind, &resolved.connection)
            .await
            .expect("connect"),
    );

    let mut resync_cpu = Duration::MAX;
    let mut resync_wall = Duration::MAX;
    let mut plan_cpu = Duration::MAX;
    let mut plan_wall = Duration::MAX;
    let mut resync_statements = 0;
    let mut plan_steps = 0;
    for _ in 0..rounds {
        let everything: Vec<Resource> = [Kind::Database, Kind::DatabaseUser]
            .into_iter()
            .flat_map(|kind| memory.of_kind(kind))
            .collect();
        let ((ready, executed), cpu, wall) = measure(pass(&ctx, &memory, &index, everything)).await;
        assert_eq!(ready, total, "a no-change resync keeps everything Ready");
        resync_statements = resync_statements.max(executed);
        resync_cpu = resync_cpu.min(cpu);
        resync_wall = resync_wall.min(wall);

        let (steps, cpu, wall) = measure(engine_plan(engine.as_ref(), &databases, &roles)).await;
        plan_steps = plan_steps.max(steps);
        plan_cpu = plan_cpu.min(cpu);
        plan_wall = plan_wall.min(wall);
    }
    engine.close().await;
    ctx.engines.close_all().await;
    let rss = peak_rss();

    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(f64::EPSILON);
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    let rss_mib = rss as f64 / (1024.0 * 1024.0);
    println!();
    println!(
        "dbprov operator resync: {count} Database + {count} DatabaseUser on PostgreSQL {} (best of {rounds})",
        server.version
    );
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!(
        "| time to all-Ready ({total} objects created) | {} | |",
        seconds(to_ready)
    );
    println!(
        "| grant index build (cached between resyncs) | {} | |",
        seconds(index_wall)
    );
    println!(
        "| no-change resync of {total}: CPU | {} | {:.2}x engine plan CPU: {} (≤ 2x) |",
        seconds(resync_cpu),
        ratio(resync_cpu, plan_cpu),
        verdict(ratio(resync_cpu, plan_cpu) <= 2.0)
    );
    println!(
        "| no-change resync of {total}: wall | {} | {:.2}x engine plan wall: {} (≤ 2x) |",
        seconds(resync_wall),
        ratio(resync_wall, plan_wall),
        verdict(ratio(resync_wall, plan_wall) <= 2.0)
    );
    println!("| no-change resync: statements run | {resync_statements} | 0 |");
    println!(
        "| engine no-change plan (inspect + plan): CPU | {} | baseline |",
        seconds(plan_cpu)
    );
    println!(
        "| engine no-change plan (inspect + plan): wall | {} | baseline |",
        seconds(plan_wall)
    );
    println!("| engine no-change plan: steps planned | {plan_steps} | 0 |");
    println!(
        "| peak RSS (VmHWM) | {rss_mib:.1} MiB | ≤ 64 MiB: {} |",
        verdict(rss_mib <= 64.0)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter this harness does not have.
    let count = env_number("DBPROV_BENCH_N", 1000);
    let rounds = env_number("DBPROV_BENCH_ROUNDS", 3).max(1);
    let server = PgServer::start();
    let address = server.address().clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(bench(&address, count, rounds));
}

//! One matcher: for random names (with `_ % . + * -`, which SQL treats specially) and
//! random bindings, the environments and namespaces listed by SQL are exactly those the
//! Rust evaluator allows — on the backend under test.

use std::collections::BTreeSet;

use portcullis::access::{Binding, Grants, Pattern, Permission, Role, Source};
use portcullis::environments::{self, EnvFilter};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::helpers::TestApp;

fn name() -> impl Strategy<Value = String> {
    "[ab][ab_%.+*-]{0,3}"
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_owned()),
        "[ab_.+-]{1,3}",
        "[ab_.+-]{0,2}\\*[ab_.+-]{0,2}",
        "[ab_]{1,2}\\*",
        "\\*[ab_.+-]{1,2}\\*",
    ]
}

fn binding() -> impl Strategy<Value = (String, String, Role)> {
    (
        segment(),
        segment(),
        prop_oneof![Just(Role::Viewer), Just(Role::Developer), Just(Role::Admin)],
    )
}

#[actix_web::test]
async fn sql_lists_equal_the_rust_evaluator_for_random_names_and_bindings() {
    let app = TestApp::new().await;
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let data = (
        proptest::collection::btree_set((name(), name()), 5..30),
        proptest::collection::vec(binding(), 1..5),
    );
    let round = std::cell::Cell::new(0u32);
    // Every environment inserted so far (all rounds share the database).
    let everything = std::cell::RefCell::new(Vec::<(String, String)>::new());
    runner
        .run(&data, |(envs, bindings)| {
            round.set(round.get() + 1);
            let prefix = format!("r{}", round.get());
            let grants = Grants::new(
                bindings
                    .iter()
                    .filter_map(|(ns, env, role)| {
                        Pattern::parse(&format!("{prefix}{ns}/{env}"))
                            .ok()
                            .map(|pattern| Binding {
                                pattern,
                                role: *role,
                                source: Source::Explicit,
                            })
                    })
                    .collect(),
            );
            // Each round gets its own namespaces (prefixed) so rounds do not interfere.
            let (listed, total, rust) = app.conn(|c| {
                for (ns, env) in &envs {
                    let id =
                        environments::ensure_namespace(c, &format!("{prefix}{ns}"), "").unwrap();
                    environments::create_environment(c, id, env, "", "").unwrap();
                    everything
                        .borrow_mut()
                        .push((format!("{prefix}{ns}"), env.clone()));
                }
                let filter = EnvFilter {
                    limit: 500,
                    ..Default::default()
                };
                let (rows, total) =
                    environments::list_environments(c, &grants, &filter, &app.state.env_totals)
                        .unwrap();
                let listed: BTreeSet<(String, String)> = rows
                    .into_iter()
                    .map(|(e, ns)| (ns, e.name))
                    .filter(|(ns, _)| ns.starts_with(&prefix))
                    .collect();
                let rust: BTreeSet<(String, String)> = envs
                    .iter()
                    .map(|(ns, env)| (format!("{prefix}{ns}"), env.clone()))
                    .filter(|(ns, env)| {
                        grants.can_environment(Permission::EnvironmentRead, ns, env)
                    })
                    .collect();
                (listed, total, rust)
            });
            prop_assert_eq!(&listed, &rust, "bindings {:?}", bindings);
            let expected_total = everything
                .borrow()
                .iter()
                .filter(|(ns, env)| grants.can_environment(Permission::EnvironmentRead, ns, env))
                .count();
            prop_assert_eq!(
                total as usize,
                expected_total,
                "exact total for {:?}",
                bindings
            );
            Ok(())
        })
        .unwrap();
}

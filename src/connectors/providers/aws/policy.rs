//! Down-scoping: the session policy that keeps issued credentials inside the one
//! resource asked for, intersected with the policies configured on the connector.

use serde_json::{Value, json};

use super::super::{ProviderError, Target};
use super::endpoints::{dns_suffix, partition};
use super::{is_account, registry_host};

/// Actions that pull images from ECR.
pub(super) const ECR_PULL: [&str; 3] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
];
/// Actions that push images to ECR.
pub(super) const ECR_PUSH: [&str; 4] = [
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
];

/// `PolicyArns.member.N.arn` parameters.
pub(super) fn policy_arn_params(arns: &[String]) -> Vec<(&'static str, String)> {
    // STS takes at most 10; `configured_policies` refuses more.
    const NAMES: [&str; 10] = [
        "PolicyArns.member.1.arn",
        "PolicyArns.member.2.arn",
        "PolicyArns.member.3.arn",
        "PolicyArns.member.4.arn",
        "PolicyArns.member.5.arn",
        "PolicyArns.member.6.arn",
        "PolicyArns.member.7.arn",
        "PolicyArns.member.8.arn",
        "PolicyArns.member.9.arn",
        "PolicyArns.member.10.arn",
    ];
    NAMES
        .iter()
        .zip(arns)
        .map(|(name, arn)| (*name, arn.clone()))
        .collect()
}

/// What issued credentials may do: `actions` on `resources`, in `region` only if set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Grant {
    actions: Vec<String>,
    resources: Vec<String>,
    region: Option<String>,
}

impl Grant {
    fn new(actions: &[&str], resources: Vec<String>) -> Self {
        Self {
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            resources,
            region: None,
        }
    }
}

/// The grants for one resource. Names are checked again here: a wildcard in a bucket or
/// cluster name would widen the policy.
pub(super) fn grants(
    resource_type: &str,
    resource_id: &str,
    region: &str,
    account: Option<&str>,
) -> Result<Vec<Grant>, ProviderError> {
    let p = partition(region);
    let id = resource_id.trim();
    let bad = |what: &str| ProviderError::Invalid(format!("{id:?} is not {what}"));
    match resource_type {
        "s3-bucket" => {
            let name = id.strip_prefix("s3://").unwrap_or(id);
            let ok = (3..=63).contains(&name.len())
                && name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && name.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_')
                });
            if !ok {
                return Err(bad("an S3 bucket (s3://name)"));
            }
            Ok(vec![Grant::new(
                &["s3:*"],
                vec![
                    format!("arn:{p}:s3:::{name}"),
                    format!("arn:{p}:s3:::{name}/*"),
                ],
            )])
        }
        "kubernetes-cluster" => {
            let ok = (1..=100).contains(&id.len())
                && id.starts_with(|c: char| c.is_ascii_alphanumeric())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
            if !ok {
                return Err(bad("an EKS cluster name"));
            }
            let account = account.filter(|a| is_account(a)).ok_or_else(|| {
                ProviderError::Protocol("the account of the EKS cluster is not known".to_owned())
            })?;
            Ok(vec![Grant::new(
                &["eks:DescribeCluster", "eks:AccessKubernetesApi"],
                vec![format!("arn:{p}:eks:{region}:{account}:cluster/{id}")],
            )])
        }
        "docker-registry" => {
            let account = id
                .strip_suffix(&format!(".dkr.ecr.{region}.{}", dns_suffix(region)))
                .filter(|a| is_account(a))
                .ok_or_else(|| bad(&registry_host("<account>", region)))?;
            let mut pull_push: Vec<&str> = ECR_PULL.to_vec();
            pull_push.extend(ECR_PUSH);
            Ok(vec![
                Grant::new(&["ecr:GetAuthorizationToken"], vec!["*".to_owned()]),
                Grant::new(
                    &pull_push,
                    vec![format!("arn:{p}:ecr:{region}:{account}:repository/*")],
                ),
            ])
        }
        "aws-generic" => {
            if id != region {
                return Err(bad(&format!("the connector's region {region}")));
            }
            Ok(vec![Grant {
                region: Some(region.to_owned()),
                ..Grant::new(&["*"], vec!["*".to_owned()])
            }])
        }
        other => Err(ProviderError::Invalid(format!(
            "{other} is not a resource type of AWS connectors"
        ))),
    }
}

/// One string, or a list of several.
pub(super) fn one_or_many(items: &[String]) -> Value {
    match items {
        [one] => Value::String(one.clone()),
        many => Value::Array(many.iter().cloned().map(Value::String).collect()),
    }
}

pub(super) fn document(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The session policy allowing exactly `grants`.
pub(super) fn allow_document(grants: &[Grant]) -> Value {
    document(
        grants
            .iter()
            .map(|g| {
                let mut s = json!({
                    "Effect": "Allow",
                    "Action": one_or_many(&g.actions),
                    "Resource": one_or_many(&g.resources),
                });
                if let (Some(region), Value::Object(o)) = (&g.region, &mut s) {
                    o.insert(
                        "Condition".into(),
                        json!({"StringEquals": {"aws:RequestedRegion": region}}),
                    );
                }
                s
            })
            .collect(),
    )
}

/// Deny statements refusing everything outside `grants`. An explicit deny wins over any
/// allow, in any session policy, so these keep configured policies inside the resource.
pub(super) fn fence(grants: &[Grant]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut allowed: Vec<String> = grants.iter().flat_map(|g| g.actions.clone()).collect();
    allowed.dedup();
    if !allowed.iter().any(|a| a == "*") {
        out.push(json!({"Effect": "Deny", "NotAction": one_or_many(&allowed), "Resource": "*"}));
    }
    for g in grants {
        if !g.resources.iter().any(|r| r == "*") {
            out.push(json!({
                "Effect": "Deny",
                "Action": one_or_many(&g.actions),
                "NotResource": one_or_many(&g.resources),
            }));
        }
        if let Some(region) = &g.region {
            out.push(json!({
                "Effect": "Deny",
                "Action": one_or_many(&g.actions),
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": region}},
            }));
        }
    }
    out
}

/// The configured inline policy (parsed) and managed policy ARNs.
pub(super) fn configured_policies(
    t: &Target,
) -> Result<(Option<Value>, Vec<String>), ProviderError> {
    let policy = match t.text("policy") {
        Some(raw) => {
            let v: Value = serde_json::from_str(raw).map_err(|_| {
                ProviderError::Invalid("the attribute policy is not a JSON document".to_owned())
            })?;
            Some(v)
        }
        None => None,
    };
    let arns: Vec<String> = t
        .list("policy_arns")
        .into_iter()
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .collect();
    if arns.len() > 10 {
        return Err(ProviderError::Invalid(
            "at most 10 policy ARNs can be applied".to_owned(),
        ));
    }
    if let Some(bad) = arns.iter().find(|a| !a.starts_with("arn:")) {
        return Err(ProviderError::Invalid(format!(
            "{bad:?} in policy_arns is not an ARN"
        )));
    }
    Ok((policy, arns))
}

/// The inline session policy for `grants`: exactly the grants when nothing is configured;
/// else the configured policy's statements (the managed ARNs allow too) fenced in by
/// deny statements, so that the result is the intersection of both.
pub(super) fn session_policy(
    grants: &[Grant],
    configured: Option<&Value>,
    arns: &[String],
) -> Result<String, ProviderError> {
    let doc = if configured.is_none() && arns.is_empty() {
        allow_document(grants)
    } else {
        let mut statements = match configured.map(|p| p.get("Statement")) {
            None => Vec::new(),
            Some(Some(Value::Array(items))) => items.clone(),
            Some(Some(one @ Value::Object(_))) => vec![one.clone()],
            Some(_) => {
                return Err(ProviderError::Invalid(
                    "the attribute policy has no Statement".to_owned(),
                ));
            }
        };
        statements.extend(fence(grants));
        document(statements)
    };
    serde_json::to_string(&doc)
        .map_err(|_| ProviderError::Invalid("the session policy cannot be written".to_owned()))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::providers::aws::target;

    fn policy(resource_type: &str, id: &str, configured: Option<Value>, arns: &[&str]) -> Value {
        let g = grants(resource_type, id, "eu-central-1", Some("123456789012")).unwrap();
        let arns: Vec<String> = arns.iter().map(|a| (*a).to_owned()).collect();
        serde_json::from_str(&session_policy(&g, configured.as_ref(), &arns).unwrap()).unwrap()
    }

    #[test]
    fn session_policies_reach_only_the_resource() {
        let push_pull = json!([
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
            "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload",
            "ecr:PutImage"
        ]);
        let cases = [
            (
                "s3-bucket",
                "s3://team-data",
                json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow",
                    "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::team-data", "arn:aws:s3:::team-data/*"],
                }]}),
            ),
            (
                "kubernetes-cluster",
                "ml-cluster",
                json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow",
                    "Action": ["eks:DescribeCluster", "eks:AccessKubernetesApi"],
                    "Resource": "arn:aws:eks:eu-central-1:123456789012:cluster/ml-cluster",
                }]}),
            ),
            (
                "docker-registry",
                "123456789012.dkr.ecr.eu-central-1.amazonaws.com",
                json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                    {
                        "Effect": "Allow",
                        "Action": push_pull,
                        "Resource": "arn:aws:ecr:eu-central-1:123456789012:repository/*",
                    },
                ]}),
            ),
            (
                "aws-generic",
                "eu-central-1",
                json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-central-1"}},
                }]}),
            ),
        ];
        for (rt, id, want) in cases {
            assert_eq!(policy(rt, id, None, &[]), want, "{rt}");
        }
    }

    #[test]
    fn configured_policies_are_fenced_into_the_resource() {
        let configured = json!({"Version": "2012-10-17", "Statement": {
            "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"
        }});
        assert_eq!(
            policy("s3-bucket", "s3://team-data", Some(configured), &[]),
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "s3:*",
                    "NotResource": ["arn:aws:s3:::team-data", "arn:aws:s3:::team-data/*"],
                },
            ]})
        );
        // Managed policies only: the inline document is the fence alone.
        assert_eq!(
            policy(
                "kubernetes-cluster",
                "ml-cluster",
                None,
                &["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]
            ),
            json!({"Version": "2012-10-17", "Statement": [
                {
                    "Effect": "Deny",
                    "NotAction": ["eks:DescribeCluster", "eks:AccessKubernetesApi"],
                    "Resource": "*",
                },
                {
                    "Effect": "Deny",
                    "Action": ["eks:DescribeCluster", "eks:AccessKubernetesApi"],
                    "NotResource": "arn:aws:eks:eu-central-1:123456789012:cluster/ml-cluster",
                },
            ]})
        );
        let ecr = policy(
            "docker-registry",
            "123456789012.dkr.ecr.eu-central-1.amazonaws.com",
            None,
            &["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"],
        );
        let statements = ecr["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2, "{ecr}");
        assert_eq!(statements[0]["NotAction"].as_array().unwrap().len(), 8);
        assert_eq!(
            statements[1]["NotResource"],
            "arn:aws:ecr:eu-central-1:123456789012:repository/*"
        );
        assert_eq!(
            policy(
                "aws-generic",
                "eu-central-1",
                None,
                &["arn:aws:iam::aws:policy/ReadOnlyAccess"]
            ),
            json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-central-1"}},
            }]})
        );
    }

    #[test]
    fn resources_that_would_widen_the_policy_are_refused() {
        for (rt, id) in [
            ("s3-bucket", "s3://*"),
            ("s3-bucket", "s3://team-*"),
            ("s3-bucket", "s3://a/b"),
            ("kubernetes-cluster", "*"),
            ("kubernetes-cluster", "ml/cluster"),
            ("docker-registry", "*.dkr.ecr.eu-central-1.amazonaws.com"),
            (
                "docker-registry",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            ),
            ("aws-generic", "us-east-1"),
            ("gcs-bucket", "gs://x"),
        ] {
            assert!(
                grants(rt, id, "eu-central-1", Some("123456789012")).is_err(),
                "{rt} {id}"
            );
        }
        assert!(grants("kubernetes-cluster", "ml", "eu-central-1", None).is_err());
        let cn = grants("s3-bucket", "s3://b-cn", "cn-north-1", None).unwrap();
        assert_eq!(cn[0].resources[0], "arn:aws-cn:s3:::b-cn");
    }

    #[test]
    fn configured_policies_must_be_usable() {
        let t = |config: Value| {
            let mut c = json!({"region": "eu-central-1"});
            if let (Value::Object(base), Value::Object(more)) = (&mut c, config) {
                base.extend(more);
            }
            configured_policies(&target("federation-token", c))
        };
        assert!(t(json!({"policy": "{not json"})).is_err());
        assert!(t(json!({"policy_arns": ["AmazonS3ReadOnlyAccess"]})).is_err());
        let eleven: Vec<String> = (0..11)
            .map(|i| format!("arn:aws:iam::aws:policy/P{i}"))
            .collect();
        assert!(t(json!({"policy_arns": eleven})).is_err());
        let (p, arns) =
            t(json!({"policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]})).unwrap();
        assert!(p.is_none());
        assert_eq!(
            policy_arn_params(&arns),
            [("PolicyArns.member.1.arn", arns[0].clone())]
        );
        let g = grants("s3-bucket", "s3://b-1", "eu-central-1", None).unwrap();
        let no_statement = json!({"Version": "2012-10-17"});
        assert!(session_policy(&g, Some(&no_statement), &[]).is_err());
    }
}

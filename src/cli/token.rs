//! `tidings token`: create, list and revoke API tokens.

use super::*;

pub(super) async fn run(cfg: Config, cmd: TokenCmd) -> anyhow::Result<()> {
    match cmd {
        TokenCmd::List { member, json } => {
            let email = member.as_deref().map(parse_email).transpose()?;
            with_store(&cfg, async |s| {
                let owner = match &email {
                    Some(e) => Some(member_named(s, e).await?.id),
                    None => None,
                };
                let rows = s.list_api_tokens(owner).await.map_err(store_err)?;
                let when = crate::domain::rfc3339;
                if json {
                    let v: Vec<_> = rows
                        .iter()
                        .map(|r| {
                            serde_json::json!({
                                "id": r.id,
                                "member": r.member_email,
                                "created_at": when(r.created_at),
                                "revoked_at": r.revoked_at.map(when),
                            })
                        })
                        .collect();
                    crate::outln!("{}", serde_json::to_string_pretty(&v)?);
                } else if rows.is_empty() {
                    crate::outln!(
                        "no API tokens: create one with `tidings token create --member EMAIL`"
                    );
                } else {
                    for r in rows {
                        crate::outln!(
                            "{:>6}  {:<32} created {}  {}",
                            r.id,
                            r.member_email,
                            when(r.created_at),
                            r.revoked_at
                                .map(|t| format!("revoked {}", when(t)))
                                .unwrap_or_else(|| "active".into())
                        );
                    }
                }
                Ok(())
            })
            .await
        }
        TokenCmd::Revoke { id, member } => {
            let email = member.as_deref().map(parse_email).transpose()?;
            with_store(&cfg, async |s| {
                match (id, &email) {
                    (Some(id), _) => {
                        let changed = s
                            .revoke_api_token(id, Utc::now().timestamp())
                            .await
                            .map_err(store_err)?;
                        crate::outln!(
                            "{}",
                            if changed {
                                format!("revoked token {id}")
                            } else {
                                format!("token {id} was already revoked")
                            }
                        );
                    }
                    (None, Some(e)) => {
                        let m = member_named(s, e).await?;
                        let n = s.revoke_api_tokens(m.id).await.map_err(store_err)?;
                        crate::outln!("revoked {n} token{} of {e}", if n == 1 { "" } else { "s" });
                    }
                    (None, None) => return Err(usage("give a token id or --member EMAIL")),
                }
                Ok(())
            })
            .await
        }
        TokenCmd::Create { member } => {
            let email = parse_email(&member)?;
            with_store(&cfg, async |s| {
                let m = member_named(s, &email).await?;
                let token = generate_api_token();
                s.add_api_token(m.id, &hash_api_token(&token))
                    .await
                    .map_err(store_err)?;
                crate::outln!("{token}");
                Ok(())
            })
            .await
        }
    }
}

//! Quick start for Rust hosts: a tenant, a customer, a tracking, a listed page, a typed error and
//! the change events, on a SQLite file. Run: `cargo run -p tagsmith-core --example quickstart`.

use serde_json::json;
use tagsmith_core::{Engine, ErrorKind, ListTrackings, Received, from_json};

fn main() -> tagsmith_core::Result<()> {
    let path = std::env::temp_dir().join(format!("tagsmith-quickstart-{}.db", std::process::id()));
    let engine = Engine::open(&path)?;
    pollster::block_on(async {
        let acme = engine.create_tenant("Acme Agency").await?;
        let mut events = engine.subscribe(&acme.id, None).await?;
        let shop = engine
            .customers(acme.id.clone())
            .create(from_json(
                json!({"name": "Shop", "website_url": "https://shop.example"}),
            )?)
            .await?;
        let trackings = engine.trackings(acme.id.clone());
        let buy = trackings
            .create(from_json(json!({
                "customer_id": shop.id, "name": "Buy", "kind": "button_click",
                "selector": "button.buy", "ga4_event": "add_to_cart",
            }))?)
            .await?;
        let page = trackings.list(&ListTrackings::default()).await?;
        assert_eq!(page.total, 1);
        println!("tracking {} ({}) is {}", buy.name, buy.id, buy.sync_status);

        let bad = trackings
            .create(from_json(
                json!({"customer_id": shop.id, "name": "Bad", "kind": "page_view"}),
            )?)
            .await
            .err()
            .map(|e| {
                (
                    e.kind(),
                    e.fields()
                        .iter()
                        .map(|f| f.field.clone())
                        .collect::<Vec<_>>(),
                )
            });
        assert_eq!(
            bad,
            Some((ErrorKind::InvalidInput, vec!["url_rule".to_owned()]))
        );
        println!("a page_view without a URL rule is refused: {:?}", bad);

        while let Some(Received::Event(e)) = events.try_next().await? {
            println!("event #{}: {} {} {}", e.seq, e.entity, e.action, e.id);
        }
        Ok::<_, tagsmith_core::Error>(())
    })?;
    engine.close()?;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(())
}

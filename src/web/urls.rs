//! The paths of the pages that show or change one object, built in one place: handlers
//! redirect to them and templates link to them (`{{ crate::web::urls::product(p.id) }}`)
//! instead of spelling `/inventory/products/…` by hand. Each function's path matches one of
//! the route patterns listed with it in the tests below, which check that the pattern is
//! registered. Pages without an id (`/inventory`, `/workflows/onboard`) stay literal.
//!
//! A function takes its object's id newtype, a reference to one (a template passes its
//! arguments by reference) or, for rows not yet typed, a bare `i64`.

use crate::domain::{
    AttachmentId, BillingRecordId, GrantId, HandoverId, ImportId, OutboxId, PersonId, ProductId,
    ServiceId, TaskId, TemplateId, WorkflowId,
};

/// An id that can stand in a path to an object of kind `K` (the id newtype `K` itself, or a
/// bare `i64`).
pub trait Segment<K> {
    fn segment(self) -> i64;
}

macro_rules! segments {
    ($($id:ty),*) => {$(
        impl Segment<$id> for $id {
            fn segment(self) -> i64 {
                self.get()
            }
        }
    )*};
}

segments!(
    AttachmentId,
    BillingRecordId,
    GrantId,
    HandoverId,
    ImportId,
    OutboxId,
    PersonId,
    ProductId,
    ServiceId,
    TaskId,
    TemplateId,
    WorkflowId
);

impl<K> Segment<K> for i64 {
    fn segment(self) -> i64 {
        self
    }
}

/// A reference to an id (what a template passes), however many times borrowed.
impl<K, T: Copy + Segment<K>> Segment<K> for &T {
    fn segment(self) -> i64 {
        (*self).segment()
    }
}

/// Declares `fn name(id) -> String` for paths of the form `prefix{id}suffix`.
macro_rules! paths {
    ($($(#[$meta:meta])* $name:ident($kind:ty) => $prefix:literal, $suffix:literal;)*) => {$(
        $(#[$meta])*
        pub fn $name(id: impl Segment<$kind>) -> String {
            format!(concat!($prefix, "{}", $suffix), id.segment())
        }
    )*};
}

paths! {
    /// A service's page; posting to it saves the service.
    service(ServiceId) => "/inventory/services/", "";
    service_edit(ServiceId) => "/inventory/services/", "/edit";
    service_history(ServiceId) => "/inventory/services/", "/history";
    service_admins(ServiceId) => "/inventory/services/", "/admins";
    /// The active grants of the service's products as CSV.
    service_grants_csv(ServiceId) => "/inventory/services/", "/grants.csv";
    service_new_product(ServiceId) => "/inventory/services/", "/products/new";
    /// Where the new-product form posts.
    service_products(ServiceId) => "/inventory/services/", "/products";
    service_archive(ServiceId) => "/inventory/services/", "/archive";
    service_restore(ServiceId) => "/inventory/services/", "/restore";
    service_delete(ServiceId) => "/inventory/services/", "/delete";
    /// A product's page; posting to it saves the product.
    product(ProductId) => "/inventory/products/", "";
    product_edit(ProductId) => "/inventory/products/", "/edit";
    product_history(ProductId) => "/inventory/products/", "/history";
    product_admins(ProductId) => "/inventory/products/", "/admins";
    product_grants(ProductId) => "/inventory/products/", "/grants";
    /// The product's active grants as CSV.
    product_grants_csv(ProductId) => "/inventory/products/", "/grants.csv";
    product_archive(ProductId) => "/inventory/products/", "/archive";
    product_restore(ProductId) => "/inventory/products/", "/restore";
    product_delete(ProductId) => "/inventory/products/", "/delete";
    grant_revoke(GrantId) => "/grants/", "/revoke";
    /// A person's page in the directory; posting to it saves the person.
    person(PersonId) => "/directory/", "";
    person_edit(PersonId) => "/directory/", "/edit";
    /// Everything the audit log holds about the person (their grants, tasks, workflows…).
    person_history(PersonId) => "/directory/", "/history";
    person_grants(PersonId) => "/directory/", "/grants";
    /// Several products for the person at once, or a colleague's access copied.
    person_bulk_grants(PersonId) => "/directory/", "/grants/bulk";
    /// The person's grants as CSV.
    person_grants_csv(PersonId) => "/directory/", "/grants.csv";
    /// "Send invitation again" (Admins).
    person_invitation(PersonId) => "/directory/", "/invitation";
    /// An Admin removes the person's second factor (with their own password).
    person_two_factor_reset(PersonId) => "/directory/", "/two-factor/reset";
    /// An onboarding's or offboarding's page.
    workflow(WorkflowId) => "/workflows/", "";
    workflow_cancel(WorkflowId) => "/workflows/", "/cancel";
    workflow_report(WorkflowId) => "/workflows/", "/report";
    /// An onboarding template's page; posting to it saves the template.
    template(TemplateId) => "/workflows/templates/", "";
    template_delete(TemplateId) => "/workflows/templates/", "/delete";
    /// The onboarding form with a template chosen.
    onboard_with_template(TemplateId) => "/workflows/onboard?template_id=", "";
    handover(HandoverId) => "/handovers/", "";
    task(TaskId) => "/tasks/", "";
    task_complete(TaskId) => "/tasks/", "/complete";
    task_not_needed(TaskId) => "/tasks/", "/not-needed";
    /// A billing record's page; posting to it saves the record.
    billing_record(BillingRecordId) => "/payments/", "";
    billing_record_edit(BillingRecordId) => "/payments/", "/edit";
    billing_record_attachments(BillingRecordId) => "/payments/", "/attachments";
    billing_record_history(BillingRecordId) => "/payments/", "/history";
    /// The register filtered to one service's records.
    service_payments(ServiceId) => "/payments?service_id=", "";
    service_payments_print(ServiceId) => "/payments/print?service_id=", "";
    /// Every record of a product (all statuses), to print.
    product_payments_print(ProductId) => "/payments/print?product_id=", "&status=all";
    /// The new-record form with the product chosen.
    product_new_billing_record(ProductId) => "/payments/new?product_id=", "";
    attachment(AttachmentId) => "/attachments/", "";
    attachment_remove(AttachmentId) => "/attachments/", "/remove";
    import(ImportId) => "/imports/", "";
    import_commit(ImportId) => "/imports/", "/commit";
    /// Sends a failed email again.
    outbox_retry(OutboxId) => "/settings/outbox/", "/retry";
}

/// The page of what an audit entry changed, where it has one.
pub fn audit_object(object_type: &str, object_id: &str) -> Option<String> {
    let id: i64 = object_id.parse().ok().filter(|id| *id > 0)?;
    Some(match object_type {
        "user" => person(PersonId(id)),
        "product" => product(ProductId(id)),
        "service" => service(ServiceId(id)),
        "billing_record" => billing_record(BillingRecordId(id)),
        "workflow" => workflow(WorkflowId(id)),
        "task" => task(TaskId(id)),
        "handover" => handover(HandoverId(id)),
        "import" => import(ImportId(id)),
        "template" => template(TemplateId(id)),
        _ => return None,
    })
}

/// Runs a scheduled job now (`job`: its name, `Job::as_str`).
pub fn scheduler_run(job: &str) -> String {
    format!("/settings/scheduler/{job}/run")
}

/// `service_admins(id)/{person}/remove`: takes a person off the service's administrators.
pub fn service_admin_remove(id: impl Segment<ServiceId>, person: impl Segment<PersonId>) -> String {
    format!("{}/{}/remove", service_admins(id), person.segment())
}

/// `product_admins(id)/{person}/remove`: takes a person off the product's administrators.
pub fn product_admin_remove(id: impl Segment<ProductId>, person: impl Segment<PersonId>) -> String {
    format!("{}/{}/remove", product_admins(id), person.segment())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::dev::ResourceDef;

    /// The files that register routes, searched for each pattern below.
    const ROUTE_FILES: &[&str] = &[
        include_str!("../lib.rs"),
        include_str!("../inventory/mod.rs"),
        include_str!("../directory/mod.rs"),
        include_str!("../workflows/mod.rs"),
        include_str!("../imports/mod.rs"),
        include_str!("../payments/mod.rs"),
        include_str!("../settings.rs"),
        include_str!("../auth/two_factor/mod.rs"),
    ];

    #[test]
    fn every_path_matches_a_registered_route() {
        let cases: Vec<(String, &str)> = vec![
            (service(ServiceId(7)), "/inventory/services/{id}"),
            (service_edit(ServiceId(7)), "/inventory/services/{id}/edit"),
            (
                service_admins(ServiceId(7)),
                "/inventory/services/{id}/admins",
            ),
            (
                service_admin_remove(ServiceId(7), PersonId(3)),
                "/inventory/services/{id}/admins/{uid}/remove",
            ),
            (
                service_new_product(ServiceId(7)),
                "/inventory/services/{id}/products/new",
            ),
            (
                service_products(ServiceId(7)),
                "/inventory/services/{id}/products",
            ),
            (
                service_archive(ServiceId(7)),
                "/inventory/services/{id}/{op:archive|restore|delete}",
            ),
            (
                service_restore(ServiceId(7)),
                "/inventory/services/{id}/{op:archive|restore|delete}",
            ),
            (
                service_delete(ServiceId(7)),
                "/inventory/services/{id}/{op:archive|restore|delete}",
            ),
            (product(ProductId(7)), "/inventory/products/{id}"),
            (product_edit(ProductId(7)), "/inventory/products/{id}/edit"),
            (
                product_admins(ProductId(7)),
                "/inventory/products/{id}/admins",
            ),
            (
                product_admin_remove(ProductId(7), PersonId(3)),
                "/inventory/products/{id}/admins/{uid}/remove",
            ),
            (
                product_grants(ProductId(7)),
                "/inventory/products/{id}/grants",
            ),
            (
                product_archive(ProductId(7)),
                "/inventory/products/{id}/{op:archive|restore|delete}",
            ),
            (
                product_restore(ProductId(7)),
                "/inventory/products/{id}/{op:archive|restore|delete}",
            ),
            (
                product_delete(ProductId(7)),
                "/inventory/products/{id}/{op:archive|restore|delete}",
            ),
            (grant_revoke(GrantId(7)), "/grants/{id}/revoke"),
            (person(PersonId(7)), "/directory/{id}"),
            (person_edit(PersonId(7)), "/directory/{id}/edit"),
            (person_grants(PersonId(7)), "/directory/{id}/grants"),
            (person_invitation(PersonId(7)), "/directory/{id}/invitation"),
            (
                person_two_factor_reset(PersonId(7)),
                "/directory/{id}/two-factor/reset",
            ),
            (workflow(WorkflowId(7)), "/workflows/{id}"),
            (workflow_cancel(WorkflowId(7)), "/workflows/{id}/cancel"),
            (workflow_report(WorkflowId(7)), "/workflows/{id}/report"),
            (template(TemplateId(7)), "/workflows/templates/{id}"),
            (
                template_delete(TemplateId(7)),
                "/workflows/templates/{id}/delete",
            ),
            (onboard_with_template(TemplateId(7)), "/workflows/onboard"),
            (handover(HandoverId(7)), "/handovers/{id}"),
            (task(TaskId(7)), "/tasks/{id}"),
            (task_complete(TaskId(7)), "/tasks/{id}/complete"),
            (task_not_needed(TaskId(7)), "/tasks/{id}/not-needed"),
            (billing_record(BillingRecordId(7)), "/payments/{id}"),
            (
                billing_record_edit(BillingRecordId(7)),
                "/payments/{id}/edit",
            ),
            (
                billing_record_attachments(BillingRecordId(7)),
                "/payments/{id}/attachments",
            ),
            (
                billing_record_history(BillingRecordId(7)),
                "/payments/{id}/history",
            ),
            (service_payments(ServiceId(7)), "/payments"),
            (service_payments_print(ServiceId(7)), "/payments/print"),
            (product_payments_print(ProductId(7)), "/payments/print"),
            (product_new_billing_record(ProductId(7)), "/payments/new"),
            (attachment(AttachmentId(7)), "/attachments/{id}"),
            (
                attachment_remove(AttachmentId(7)),
                "/attachments/{id}/remove",
            ),
            (import(ImportId(7)), "/imports/{id}"),
            (import_commit(ImportId(7)), "/imports/{id}/commit"),
            (outbox_retry(OutboxId(7)), "/settings/outbox/{id}/retry"),
            (scheduler_run("backup7"), "/settings/scheduler/{job}/run"),
        ];
        for (url, pattern) in cases {
            let quoted = format!("\"{pattern}\"");
            assert!(
                ROUTE_FILES.iter().any(|f| f.contains(&quoted)),
                "{pattern} is not a registered route"
            );
            let path = url.split('?').next().unwrap_or_default();
            assert!(
                ResourceDef::new(pattern).is_match(path),
                "{url} does not match {pattern}"
            );
            // The id is the one given, wherever it stands.
            assert!(url.contains('7'), "{url}");
        }
    }

    #[test]
    #[allow(clippy::needless_borrows_for_generic_args)] // as a template passes them
    fn ids_pass_typed_by_reference_or_bare() {
        let id = ProductId(42);
        assert_eq!(product(id), "/inventory/products/42");
        assert_eq!(product(&id), "/inventory/products/42");
        assert_eq!(product(42), "/inventory/products/42");
        assert_eq!(
            product_payments_print(id),
            "/payments/print?product_id=42&status=all"
        );
    }
}


pub mod kube;

pub mod aws;
pub mod kube;


pub mod kube;
pub mod aws;

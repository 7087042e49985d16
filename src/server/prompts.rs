//! Runbook prompts: markdown files under `prompts/`, compiled in, served as MCP prompts.
//!
//! Each file opens with a YAML front matter block (`name`, `description`, `arguments`), and its
//! body uses `{{argument}}` placeholders. A missing required argument is an error that names it.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use include_dir::{Dir, include_dir};
use rmcp::model::{GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Role};
use serde::Deserialize;

static PROMPT_FILES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/prompts");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptArg {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    name: String,
    description: String,
    #[serde(default)]
    arguments: Vec<PromptArg>,
}

/// One runbook.
#[derive(Debug, Clone)]
pub struct Runbook {
    pub name: String,
    pub description: String,
    pub arguments: Vec<PromptArg>,
    pub body: String,
}

impl Runbook {
    pub fn to_mcp(&self) -> Prompt {
        let args = self
            .arguments
            .iter()
            .map(|a| {
                PromptArgument::new(a.name.clone())
                    .with_description(a.description.clone())
                    .with_required(a.required)
            })
            .collect();
        Prompt::new(
            self.name.clone(),
            Some(self.description.clone()),
            Some(args),
        )
    }
}

/// Parses one prompt file; errors name the problem.
pub fn parse(text: &str) -> Result<Runbook, String> {
    let rest = text
        .strip_prefix("---\n")
        .ok_or("missing front matter (--- at the top)")?;
    let (front, body) = rest
        .split_once("\n---\n")
        .ok_or("front matter is not closed by ---")?;
    let fm: FrontMatter = serde_yaml::from_str(front).map_err(|e| e.to_string())?;
    Ok(Runbook {
        name: fm.name,
        description: fm.description,
        arguments: fm.arguments,
        body: body.trim().to_string(),
    })
}

static ALL: LazyLock<Vec<Runbook>> = LazyLock::new(|| {
    let mut all: Vec<Runbook> = PROMPT_FILES
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "md"))
        .filter_map(|f| f.contents_utf8().and_then(|t| parse(t).ok()))
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
});

pub fn all() -> &'static [Runbook] {
    &ALL
}

/// Fills a runbook's placeholders.
pub fn render(name: &str, args: Option<&JsonObject>) -> Result<GetPromptResult, String> {
    let runbook = all().iter().find(|r| r.name == name).ok_or_else(|| {
        format!(
            "unknown prompt `{name}`; available: {}",
            all()
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let given: BTreeMap<String, String> = args
        .map(|a| {
            a.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut body = runbook.body.clone();
    for arg in &runbook.arguments {
        let value = match given.get(&arg.name) {
            Some(v) if !v.trim().is_empty() => v.clone(),
            _ if arg.required => {
                return Err(format!(
                    "prompt `{name}` needs argument `{}`: {}",
                    arg.name, arg.description
                ));
            }
            _ => "(not given)".to_string(),
        };
        body = body.replace(&format!("{{{{{}}}}}", arg.name), &value);
    }
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, body)])
            .with_description(runbook.description.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_prompt_parses_and_names_its_tools() {
        let files: Vec<_> = PROMPT_FILES
            .files()
            .filter(|f| f.path().extension().is_some_and(|e| e == "md"))
            .collect();
        assert!(!files.is_empty());
        for f in files {
            let text = f.contents_utf8().unwrap();
            let r = parse(text).unwrap_or_else(|e| panic!("{}: {e}", f.path().display()));
            for arg in &r.arguments {
                assert!(
                    r.body.contains(&format!("{{{{{}}}}}", arg.name)),
                    "{} does not use {}",
                    r.name,
                    arg.name
                );
            }
        }
    }

    #[test]
    fn render_requires_required_arguments() {
        let r = all()
            .iter()
            .find(|r| r.arguments.iter().any(|a| a.required))
            .expect("a prompt with a required argument");
        let err = render(&r.name, None).unwrap_err();
        assert!(err.contains("needs argument"), "{err}");
        assert!(render("nope", None).unwrap_err().contains("available"));
    }
}

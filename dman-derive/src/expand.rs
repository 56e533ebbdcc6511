//! The code the three derives write.
//!
//! Expansions stay small: every field is one call of a helper in
//! `dman_core::__private`, which does the work (envelopes, record options,
//! absent values, error paths) once for all types.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Data, DataEnum, DeriveInput, Error, Field, Fields, GenericArgument, Generics, Ident, LitStr,
    PathArguments, Result, Token, Type, WherePredicate,
};

use crate::attr::{check_file_part, check_name, check_subdir, check_suffix, parse_lit, Attrs};

// ---- shared pieces ---------------------------------------------------------

/// Options every derive accepts: `crate = "..."` and `bound = "..."`.
struct Common {
    /// The path of dman's core crate (`::dman_core`).
    cr: TokenStream,
    /// Where-predicates replacing the automatic bounds.
    bound: Option<Vec<WherePredicate>>,
}

impl Common {
    fn take(attrs: &mut Attrs) -> Result<Common> {
        let cr = match attrs.path("crate")? {
            Some(path) => quote!(#path),
            None => core_path(),
        };
        let bound = attrs
            .string("bound")?
            .map(|lit| {
                lit.parse_with(Punctuated::<WherePredicate, Token![,]>::parse_terminated)
                    .map(|p| p.into_iter().collect())
                    .map_err(|e| {
                        Error::new(
                            lit.span(),
                            format!("cannot parse the bounds `{}`: {e}", lit.value()),
                        )
                    })
            })
            .transpose()?;
        Ok(Common { cr, bound })
    }

    /// `impl<...>`, `Type<...>` and `where ...` of an impl, with `auto`
    /// added as a bound on every type parameter unless `bound` replaces the
    /// automatic bounds.
    fn generics(
        &self,
        generics: &Generics,
        auto: TokenStream,
    ) -> (TokenStream, TokenStream, TokenStream) {
        let mut g = generics.clone();
        let params: Vec<Ident> = g.type_params().map(|p| p.ident.clone()).collect();
        let clause = g.make_where_clause();
        match &self.bound {
            Some(preds) => clause.predicates.extend(preds.iter().cloned()),
            None => {
                for p in params {
                    clause.predicates.push(syn::parse_quote!(#p: #auto));
                }
            }
        }
        let (i, t, w) = g.split_for_impl();
        (quote!(#i), quote!(#t), quote!(#w))
    }
}

/// Where the core crate is, seen from the crate being compiled: `dman-core`
/// itself or as a dependency, else the `dman` facade's `core` module.
fn core_path() -> TokenStream {
    use proc_macro_crate::{crate_name, FoundCrate};
    match crate_name("dman-core") {
        // Inside dman-core, `extern crate self as dman_core;` makes the
        // absolute path work for the library and its tests alike.
        Ok(FoundCrate::Itself) => quote!(::dman_core),
        Ok(FoundCrate::Name(name)) => {
            let id = Ident::new(&name, Span::call_site());
            quote!(::#id)
        }
        Err(_) => match crate_name("dman") {
            Ok(FoundCrate::Name(name)) => {
                let id = Ident::new(&name, Span::call_site());
                quote!(::#id::core)
            }
            _ => quote!(::dman::core),
        },
    }
}

/// The type's name as Python knows it by default.
fn type_name(ident: &Ident) -> String {
    ident.unraw().to_string()
}

/// `Some("s")` or `None` as tokens.
fn opt_str(s: &Option<String>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

/// The name option of a container, checked.
fn take_name(attrs: &mut Attrs) -> Result<Option<String>> {
    attrs
        .string("name")?
        .map(|lit| check_name(&lit))
        .transpose()
}

/// `impl Storable` for a serializable type whose file is its JSON content
/// without envelope (Python's `@storable` on a serializable).
fn json_storable(input: &DeriveInput, common: &Common, name: &str) -> TokenStream {
    let Common { cr, .. } = common;
    let ident = &input.ident;
    let (ig, tg, wc) = common.generics(
        &input.generics,
        quote!(#cr::Serializable + ::core::marker::Send + ::core::marker::Sync + 'static),
    );
    quote! {
        #[automatically_derived]
        impl #ig #cr::Storable for #ident #tg #wc {
            const STO_TYPE: &'static str = #name;
            const EXTENSION: &'static str = ".json";
            const JSON: bool = true;
            fn to_stored(&self, ctx: &mut #cr::EncodeContext<'_>) -> #cr::Result<#cr::Stored> {
                #cr::Serializable::to_content(self, ctx).map(#cr::Stored::Json)
            }
            fn from_stored(stored: #cr::Stored, ctx: &#cr::DecodeContext) -> #cr::Result<Self> {
                <Self as #cr::Serializable>::from_content(&stored.json()?, ctx)
            }
        }
    }
}

/// The `Serializable` impl around the two method bodies.
fn serializable_impl(
    input: &DeriveInput,
    common: &Common,
    ser_type: TokenStream,
    to_content: TokenStream,
    from_content: TokenStream,
    extra: TokenStream,
) -> TokenStream {
    let Common { cr, .. } = common;
    let ident = &input.ident;
    let (ig, tg, wc) = common.generics(&input.generics, quote!(#cr::Serializable));
    quote! {
        #[automatically_derived]
        impl #ig #cr::Serializable for #ident #tg #wc {
            const SER_TYPE: ::core::option::Option<&'static str> = #ser_type;
            fn to_content(&self, ctx: &mut #cr::EncodeContext<'_>) -> #cr::Result<#cr::json::Value> {
                #to_content
            }
            fn from_content(content: &#cr::json::Value, ctx: &#cr::DecodeContext) -> #cr::Result<Self> {
                #from_content
            }
            #extra
        }
    }
}

// ---- fields of modelclasses and dataclasses --------------------------------

/// How a field is written.
#[derive(PartialEq)]
enum Mode {
    /// As a serializable value.
    Plain,
    /// Through the serde bridge.
    Serde,
    /// Not at all.
    Skip,
}

/// Record options of a modelclass field.
#[derive(Default)]
struct RecordOpts {
    stem: Option<String>,
    suffix: Option<String>,
    file_name: Option<String>,
    subdir: Option<String>,
    preload: bool,
    /// The first record option met, for errors.
    span: Option<Span>,
}

/// A named field with its options.
struct FieldInfo<'a> {
    member: &'a Ident,
    ty: &'a Type,
    /// The JSON key.
    key: String,
    mode: Mode,
    /// A function giving the value of a missing (or skipped) field.
    default: Option<TokenStream>,
    /// Where the default was asked for, for type errors.
    default_span: Span,
    rec: RecordOpts,
}

impl FieldInfo<'_> {
    /// The `Option<fn() -> T>` argument of the decode helpers.
    fn default_arg(&self) -> TokenStream {
        match &self.default {
            Some(f) => {
                quote_spanned!(self.default_span=> ::core::option::Option::Some((#f) as fn() -> _))
            }
            None => quote!(::core::option::Option::None),
        }
    }

    /// The value of a skipped field.
    fn skip_value(&self) -> TokenStream {
        match &self.default {
            Some(f) => quote_spanned!(self.default_span=> (#f)()),
            None => quote_spanned!(self.ty.span()=> ::core::default::Default::default()),
        }
    }
}

/// Reads the options of the named fields; `modelclass` allows record
/// options. `container_default` makes missing fields take their value from
/// `Self::default()`.
fn field_infos<'a>(
    fields: impl Iterator<Item = &'a Field>,
    modelclass: bool,
    container_default: bool,
    what: &str,
) -> Result<Vec<FieldInfo<'a>>> {
    let mut out = Vec::new();
    let mut errors: Option<Error> = None;
    for field in fields {
        match field_info(field, modelclass, container_default, what) {
            Ok(info) => out.push(info),
            Err(e) => match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            },
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn field_info<'a>(
    field: &'a Field,
    modelclass: bool,
    container_default: bool,
    what: &str,
) -> Result<FieldInfo<'a>> {
    let member = field.ident.as_ref().expect("named field");
    let mut attrs = Attrs::parse(&field.attrs)?;
    let key = match attrs.string("rename")? {
        Some(lit) => check_name(&lit)?,
        None => member.unraw().to_string(),
    };
    let skip = attrs.flag("skip")?;
    let serde = attrs.flag("serde")?;
    let default_option = attrs.flag_or_string("default")?;
    let default_span = match &default_option {
        Some((_, Some(lit))) => lit.span(),
        Some((span, None)) => *span,
        None => field.ty.span(),
    };
    let default = match default_option {
        Some((_, Some(lit))) => {
            let path: syn::Path = parse_lit(&lit)?;
            Some(quote_spanned!(lit.span()=> #path))
        }
        Some((span, None)) => {
            let ty = &field.ty;
            Some(quote_spanned!(span=> <#ty as ::core::default::Default>::default))
        }
        None if container_default => {
            Some(quote!(|| <Self as ::core::default::Default>::default().#member))
        }
        None => None,
    };
    let mut rec = RecordOpts::default();
    let mut allowed = vec!["rename", "skip", "default", "serde"];
    if modelclass {
        allowed.extend(["stem", "suffix", "name", "subdir", "preload"]);
        let mut note = |lit: &LitStr| {
            rec.span.get_or_insert(lit.span());
        };
        if let Some(lit) = attrs.string("stem")? {
            note(&lit);
            rec.stem = Some(check_file_part(&lit, "stem")?);
        }
        if let Some(lit) = attrs.string("suffix")? {
            note(&lit);
            rec.suffix = Some(check_suffix(&lit)?);
        }
        if let Some(lit) = attrs.string("name")? {
            note(&lit);
            if rec.stem.is_some() || rec.suffix.is_some() {
                return Err(Error::new(
                    lit.span(),
                    "`name` sets the stem and the suffix: use either `name` or `stem`/`suffix`",
                ));
            }
            rec.file_name = Some(check_file_part(&lit, "name")?);
        }
        if let Some(lit) = attrs.string("subdir")? {
            note(&lit);
            rec.subdir = Some(check_subdir(&lit)?);
        }
        if let Some(span) = attrs.flag("preload")? {
            rec.span.get_or_insert(span);
            rec.preload = true;
        }
    }
    attrs.finish(what, &allowed)?;
    let mode = match (skip, serde) {
        (Some(_), Some(span)) => {
            return Err(Error::new(
                span,
                "a skipped field is not written: `serde` has no use",
            ))
        }
        (Some(_), None) => Mode::Skip,
        (None, Some(_)) => Mode::Serde,
        (None, None) => Mode::Plain,
    };
    if let (Some(span), false) = (rec.span, mode == Mode::Plain) {
        return Err(Error::new(
            span,
            "record options (`stem`, `suffix`, `name`, `subdir`, `preload`) apply to fields written as records; \
             this field is `skip` or `serde`",
        ));
    }
    Ok(FieldInfo {
        member,
        ty: &field.ty,
        key,
        mode,
        default,
        default_span,
        rec,
    })
}

/// The `T` of a field typed `Option<T>` (as written: aliases are not seen).
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(tp) = ty else { return None };
    if tp.qself.is_some() {
        return None;
    }
    let last = tp.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>()[..] {
        [GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

/// The named fields of a struct (none for a unit struct), or an error.
fn named_fields(input: &DeriveInput, derive: &str) -> Result<Punctuated<Field, Token![,]>> {
    match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => Ok(named.named.clone()),
            Fields::Unit => Ok(Punctuated::new()),
            Fields::Unnamed(_) => Err(Error::new(
                input.ident.span(),
                format!("#[derive({derive})] needs a struct with named fields"),
            )),
        },
        Data::Enum(e) => Err(Error::new(
            e.enum_token.span,
            format!("#[derive({derive})] needs a struct with named fields; for an enum use #[derive(Serializable)]"),
        )),
        Data::Union(u) => Err(Error::new(
            u.union_token.span,
            format!("#[derive({derive})] does not support unions"),
        )),
    }
}

/// The decoding of every field into `Self { ... }`.
fn decode_fields(
    cr: &TokenStream,
    type_name: &str,
    fields: &[FieldInfo],
    compact: bool,
) -> TokenStream {
    let inits = fields.iter().map(|f| {
        let (member, key) = (f.member, &f.key);
        let span = f.ty.span();
        let default = f.default_arg();
        let value = match f.mode {
            Mode::Skip => f.skip_value(),
            Mode::Serde => quote_spanned!(span=> __p::decode_serde_field(__o, #key, #default)?),
            Mode::Plain => match option_inner(f.ty).filter(|_| compact) {
                // Compact: the content of the `T` inside, without envelope.
                Some(_) => {
                    let missing = match f.default {
                        Some(_) => f.skip_value(),
                        None => quote!(::core::option::Option::None),
                    };
                    quote_spanned! {span=>
                        match __o.get(#key) {
                            ::core::option::Option::None
                            | ::core::option::Option::Some(#cr::json::Value::Null) => #missing,
                            ::core::option::Option::Some(_) => ::core::option::Option::Some(
                                __p::decode_field(__o, true, #key, ::core::option::Option::None, ctx)?,
                            ),
                        }
                    }
                }
                None => quote_spanned!(span=> __p::decode_field(__o, #compact, #key, #default, ctx)?),
            },
        };
        quote!(#member: #value)
    });
    quote! {
        use #cr::__private as __p;
        let __o = __p::expect_object(content, #type_name)?;
        let _ = (__o, ctx);
        ::core::result::Result::Ok(Self { #(#inits,)* })
    }
}

// ---- #[derive(Modelclass)] -------------------------------------------------

/// `#[derive(Modelclass)]`: Python's `@modelclass`.
pub fn modelclass(input: DeriveInput) -> Result<TokenStream> {
    let mut attrs = Attrs::parse(&input.attrs)?;
    let common = Common::take(&mut attrs)?;
    let name = take_name(&mut attrs)?.unwrap_or_else(|| type_name(&input.ident));
    let storable = attrs.flag("storable")?.is_some();
    let compact = attrs.flag("compact")?.is_some();
    let store_by_field = attrs.flag("store_by_field")?.is_some();
    let cluster = attrs.flag("cluster")?.is_some();
    let subdir = attrs
        .string("subdir")?
        .map(|l| check_subdir(&l))
        .transpose()?
        .unwrap_or_default();
    let container_default = attrs.flag("default")?.is_some();
    attrs.finish(
        "#[derive(Modelclass)]",
        &[
            "name",
            "storable",
            "compact",
            "store_by_field",
            "cluster",
            "subdir",
            "default",
            "bound",
            "crate",
        ],
    )?;
    let fields = named_fields(&input, "Modelclass")?;
    let fields = field_infos(fields.iter(), true, container_default, "a modelclass field")?;
    let cr = &common.cr;

    let writes = fields.iter().map(|f| {
        let (member, key) = (f.member, &f.key);
        let span = f.ty.span();
        match f.mode {
            Mode::Skip => quote!(),
            Mode::Serde => quote_spanned!(span=> __p::encode_serde_field(&mut __m, &self.#member, #key)?;),
            Mode::Plain => {
                let RecordOpts {
                    stem,
                    suffix,
                    file_name,
                    subdir,
                    preload,
                    ..
                } = &f.rec;
                let (stem, suffix, file_name, subdir) =
                    (opt_str(stem), opt_str(suffix), opt_str(file_name), opt_str(subdir));
                let spec = quote! {
                    &__p::FieldSpec { name: #key, stem: #stem, suffix: #suffix, file_name: #file_name, subdir: #subdir, preload: #preload }
                };
                match option_inner(f.ty).filter(|_| compact) {
                    Some(_) => quote_spanned! {span=>
                        if let ::core::option::Option::Some(__v) = &self.#member {
                            __p::encode_field(&mut __m, __v, &__C, #spec, ctx)?;
                        }
                    },
                    None => quote_spanned!(span=> __p::encode_field(&mut __m, &self.#member, &__C, #spec, ctx)?;),
                }
            }
        }
    });
    let to_content = quote! {
        use #cr::__private as __p;
        const __C: __p::ClassSpec = __p::ClassSpec {
            compact: #compact, store_by_field: #store_by_field, cluster: #cluster, subdir: #subdir,
        };
        let _ = &ctx;
        #[allow(unused_mut)]
        let mut __m = __p::json::Map::new();
        #(#writes)*
        ::core::result::Result::Ok(__p::json::Value::Object(__m))
    };
    let from_content = decode_fields(cr, &name, &fields, compact);
    let mut out = serializable_impl(
        &input,
        &common,
        quote!(::core::option::Option::Some(#name)),
        to_content,
        from_content,
        release_fields(cr, &fields),
    );
    if storable {
        out.extend(json_storable(&input, &common, &name));
    }
    Ok(out)
}

/// `release_files` of a struct: its fields' records leave with it, as
/// Python's `remove` of a modelclass removes its record fields. (A
/// container does not place them: their own field options do.)
fn release_fields(cr: &TokenStream, fields: &[FieldInfo<'_>]) -> TokenStream {
    let releases = fields.iter().filter(|f| f.mode == Mode::Plain).map(|f| {
        let member = f.member;
        quote_spanned!(f.ty.span()=> #cr::Serializable::release_files(&mut self.#member, out);)
    });
    quote! {
        fn release_files(&mut self, out: &mut ::std::vec::Vec<#cr::context::Released>) {
            let _ = &out;
            #(#releases)*
        }
    }
}

// ---- #[derive(Serializable)] -----------------------------------------------

/// `#[derive(Serializable)]`: Python's `@serializable` on a dataclass, an
/// enum, or (Rust only) a transparent newtype.
pub fn serializable(input: DeriveInput) -> Result<TokenStream> {
    match &input.data {
        Data::Enum(data) => enumeration(&input, data),
        Data::Struct(s) if matches!(s.fields, Fields::Unnamed(_)) => newtype(&input, &s.fields),
        _ => dataclass(&input),
    }
}

fn dataclass(input: &DeriveInput) -> Result<TokenStream> {
    let mut attrs = Attrs::parse(&input.attrs)?;
    let common = Common::take(&mut attrs)?;
    let name = take_name(&mut attrs)?.unwrap_or_else(|| type_name(&input.ident));
    let storable = attrs.flag("storable")?.is_some();
    let container_default = attrs.flag("default")?.is_some();
    attrs.finish(
        "#[derive(Serializable)] on a struct",
        &["name", "storable", "default", "bound", "crate"],
    )?;
    let fields = named_fields(input, "Serializable")?;
    let fields = field_infos(
        fields.iter(),
        false,
        container_default,
        "a field of #[derive(Serializable)] (record options need #[derive(Modelclass)])",
    )?;
    let cr = &common.cr;
    let writes = fields.iter().map(|f| {
        let (member, key) = (f.member, &f.key);
        let span = f.ty.span();
        match f.mode {
            Mode::Skip => quote!(),
            Mode::Serde => quote_spanned!(span=> __p::encode_serde_field(&mut __m, &self.#member, #key)?;),
            // Python's `_serialize__dataclass`: every field with its
            // envelope, `None` written as `null`.
            Mode::Plain => quote_spanned! {span=>
                __m.insert(::std::string::String::from(#key), #cr::serial::serialize(&self.#member, ctx).map_err(|e| e.at_key(#key))?);
            },
        }
    });
    // Record options of an enclosing modelclass field are not for the
    // records inside a dataclass.
    let to_content = quote! {
        use #cr::__private as __p;
        ctx.without_defaults(|ctx| -> #cr::Result<#cr::json::Value> {
            #[allow(unused_mut)]
            let mut __m = __p::json::Map::new();
            #(#writes)*
            ::core::result::Result::Ok(__p::json::Value::Object(__m))
        })
    };
    let from_content = decode_fields(cr, &name, &fields, false);
    let mut out = serializable_impl(
        input,
        &common,
        quote!(::core::option::Option::Some(#name)),
        to_content,
        from_content,
        release_fields(cr, &fields),
    );
    if storable {
        out.extend(json_storable(input, &common, &name));
    }
    Ok(out)
}

fn newtype(input: &DeriveInput, fields: &Fields) -> Result<TokenStream> {
    let mut attrs = Attrs::parse(&input.attrs)?;
    let common = Common::take(&mut attrs)?;
    let storable = attrs.flag("storable")?;
    let name = attrs.string("name")?;
    attrs.finish(
        "#[derive(Serializable)] on a newtype (written as its inner value)",
        &["storable", "name (with `storable`)", "bound", "crate"],
    )?;
    if let (Some(lit), None) = (&name, storable) {
        return Err(Error::new(
            lit.span(),
            "a newtype is written as its inner value and has no type name of its own; \
             `name` only names its storable type (with `storable`)",
        ));
    }
    let field = match fields.iter().collect::<Vec<_>>()[..] {
        [field] => field,
        _ => {
            return Err(Error::new(
                fields.span(),
                "#[derive(Serializable)] supports tuple structs with exactly one field (newtypes, written as \
                 their inner value); give the fields names to write a dataclass",
            ))
        }
    };
    Attrs::parse(&field.attrs)?.finish("the field of a newtype", &[])?;
    let cr = &common.cr;
    let ty = &field.ty;
    let inner = quote_spanned!(ty.span()=> <#ty as #cr::Serializable>);
    let extra = quote! {
        fn adopt_records(&mut self, place: &mut #cr::context::Placement<'_>) {
            #inner::adopt_records(&mut self.0, place)
        }
        fn release_files(&mut self, out: &mut ::std::vec::Vec<#cr::context::Released>) {
            #inner::release_files(&mut self.0, out)
        }
        fn is_absent(&self) -> bool {
            #inner::is_absent(&self.0)
        }
        fn absent() -> ::core::option::Option<Self> {
            #inner::absent().map(Self)
        }
    };
    let mut out = serializable_impl(
        input,
        &common,
        quote!(#inner::SER_TYPE),
        quote!(#inner::to_content(&self.0, ctx)),
        quote!(#inner::from_content(content, ctx).map(Self)),
        extra,
    );
    if storable.is_some() {
        let name = match name {
            Some(lit) => check_name(&lit)?,
            None => type_name(&input.ident),
        };
        out.extend(json_storable(input, &common, &name));
    }
    Ok(out)
}

/// A `rename_all` rule for enum members.
#[derive(Clone, Copy)]
enum Case {
    Upper,
    Lower,
    ScreamingSnake,
    Snake,
}

impl Case {
    fn parse(lit: &LitStr) -> Result<Case> {
        Ok(match lit.value().as_str() {
            "UPPERCASE" => Case::Upper,
            "lowercase" => Case::Lower,
            "SCREAMING_SNAKE_CASE" => Case::ScreamingSnake,
            "snake_case" => Case::Snake,
            other => {
                return Err(Error::new(
                    lit.span(),
                    format!(
                        "unknown `rename_all` rule \"{other}\": expected \"UPPERCASE\", \"lowercase\", \
                         \"SCREAMING_SNAKE_CASE\" or \"snake_case\""
                    ),
                ))
            }
        })
    }

    fn apply(self, variant: &str) -> String {
        match self {
            Case::Upper => variant.to_uppercase(),
            Case::Lower => variant.to_lowercase(),
            Case::ScreamingSnake => snake(variant).to_uppercase(),
            Case::Snake => snake(variant),
        }
    }
}

/// `DarkRed` → `dark_red`, `HTTPServer` → `http_server`, `Rgb2Hex` → `rgb2_hex`.
fn snake(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev != '_'
                && (prev.is_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_uppercase() && next_lower))
            {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

fn enumeration(input: &DeriveInput, data: &DataEnum) -> Result<TokenStream> {
    let mut attrs = Attrs::parse(&input.attrs)?;
    let common = Common::take(&mut attrs)?;
    let name = take_name(&mut attrs)?.unwrap_or_else(|| type_name(&input.ident));
    let class_attr = attrs.string("class")?;
    let class = match &class_attr {
        Some(lit) => check_name(lit)?,
        None => type_name(&input.ident),
    };
    let storable = attrs.flag("storable")?.is_some();
    let rename_all = attrs
        .string("rename_all")?
        .map(|l| Case::parse(&l))
        .transpose()?;
    attrs.finish(
        "#[derive(Serializable)] on an enum",
        &["name", "class", "rename_all", "storable", "bound", "crate"],
    )?;
    if data.variants.is_empty() {
        return Err(Error::new(
            input.ident.span(),
            "#[derive(Serializable)] needs an enum with at least one variant",
        ));
    }
    if data
        .variants
        .iter()
        .all(|v| matches!(&v.fields, Fields::Unnamed(f) if f.unnamed.len() == 1))
    {
        if storable || rename_all.is_some() || class_attr.is_some() {
            return Err(Error::new(
                input.ident.span(),
                "an enum of one-field variants (a mixed item) takes no `class`, `rename_all` or `storable`",
            ));
        }
        return mixed(input, data, &common);
    }
    let mut members = Vec::new();
    for v in &data.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(Error::new(
                v.fields.span(),
                "#[derive(Serializable)] supports enums of unit variants (Python `Enum` members) \
                 or of one-field variants (mixed items), not a mix of both; \
                 use a `#[dman(serde)]` field for other enums",
            ));
        }
        let mut vattrs = Attrs::parse(&v.attrs)?;
        let member = match vattrs.string("rename")? {
            Some(lit) => check_name(&lit)?,
            None => {
                let written = v.ident.unraw().to_string();
                rename_all.map_or(written.clone(), |case| case.apply(&written))
            }
        };
        vattrs.finish("an enum variant", &["rename"])?;
        if let Some((other, _)) = members.iter().find(|(_, m)| *m == member) {
            return Err(Error::new(
                v.ident.span(),
                format!("member name `{member}` is already used by variant `{other}`"),
            ));
        }
        members.push((&v.ident, member));
    }
    let cr = &common.cr;
    let to_arms = members.iter().map(|(v, m)| quote!(Self::#v => #m));
    let from_arms = members
        .iter()
        .map(|(v, m)| quote!(#m => ::core::result::Result::Ok(Self::#v)));
    let to_content = quote! {
        let _ = ctx;
        ::core::result::Result::Ok(#cr::__private::enum_content(#class, match self { #(#to_arms,)* }))
    };
    let from_content = quote! {
        let _ = ctx;
        match #cr::__private::enum_member(content)? {
            #(#from_arms,)*
            __other => ::core::result::Result::Err(#cr::Error::decode(::std::format!(
                "`{}` is not a member of `{}`", __other, #class
            ))),
        }
    };
    let mut out = serializable_impl(
        input,
        &common,
        quote!(::core::option::Option::Some(#name)),
        to_content,
        from_content,
        quote!(),
    );
    if storable {
        out.extend(json_storable(input, &common, &name));
    }
    Ok(out)
}

/// An enum of one-field variants: a mixed item, written as the variant's
/// value and read as the first variant, in declaration order, whose type
/// accepts what was written (`Serializable::accepts`).
fn mixed(input: &DeriveInput, data: &DataEnum, common: &Common) -> Result<TokenStream> {
    let cr = &common.cr;
    let mut variants = Vec::new();
    for v in &data.variants {
        let vattrs = Attrs::parse(&v.attrs)?;
        vattrs.finish("a variant of a mixed enum", &[])?;
        if let Fields::Unnamed(f) = &v.fields {
            if let Some(field) = f.unnamed.first() {
                variants.push((&v.ident, &field.ty));
            }
        }
    }
    let to_arms = variants
        .iter()
        .map(|(v, _)| quote!(Self::#v(__value) => #cr::serial::serialize(__value, ctx)));
    let from_tries = variants.iter().map(|(v, ty)| {
        quote! {
            if <#ty as #cr::Serializable>::accepts(content) {
                return #cr::serial::deserialize::<#ty>(content, ctx).map(Self::#v);
            }
        }
    });
    let accepts = variants
        .iter()
        .map(|(_, ty)| quote!(<#ty as #cr::Serializable>::accepts(value)));
    let names: Vec<String> = variants
        .iter()
        .map(|(_, ty)| ty.to_token_stream().to_string().replace(' ', ""))
        .collect();
    let enum_name = type_name(&input.ident);
    let to_content = quote! {
        match self { #(#to_arms,)* }
    };
    let from_content = quote! {
        #(#from_tries)*
        ::core::result::Result::Err(#cr::__private::no_variant(#enum_name, &[#(#names),*], content))
    };
    let adopt_arms = variants.iter().map(
        |(v, _)| quote!(Self::#v(__value) => #cr::Serializable::adopt_records(__value, place)),
    );
    let release_arms = variants
        .iter()
        .map(|(v, _)| quote!(Self::#v(__value) => #cr::Serializable::release_files(__value, out)));
    let extra = quote! {
        fn accepts(value: &#cr::json::Value) -> bool {
            #(#accepts)||*
        }
        fn adopt_records(&mut self, place: &mut #cr::context::Placement<'_>) {
            match self { #(#adopt_arms,)* }
        }
        fn release_files(&mut self, out: &mut ::std::vec::Vec<#cr::context::Released>) {
            match self { #(#release_arms,)* }
        }
    };
    let serializable = serializable_impl(
        input,
        common,
        quote!(::core::option::Option::None),
        to_content,
        from_content,
        extra,
    );
    // A mixed enum goes in model containers as it is: its records are
    // placed by the container, the rest written inline.
    let ident = &input.ident;
    let (ig, tg, wc) = common.generics(&input.generics, quote!(#cr::Serializable));
    Ok(quote! {
        #serializable
        #[automatically_derived]
        impl #ig #cr::model::Item for #ident #tg #wc {
            type Slot = Self;
            fn into_slot(self) -> Self {
                self
            }
            fn replace(
                slot: &mut Self,
                value: Self,
                place: &mut #cr::context::Placement<'_>,
                released: &mut ::std::vec::Vec<#cr::context::Released>,
            ) {
                #cr::__private::replace_item(slot, value, place, released)
            }
        }
    })
}

// ---- #[derive(Storable)] ---------------------------------------------------

/// `#[derive(Storable)]`: Python's `@storable` class with `__write__` and
/// `__read__`, as bytes.
pub fn storable(input: DeriveInput) -> Result<TokenStream> {
    let mut attrs = Attrs::parse(&input.attrs)?;
    let common = Common::take(&mut attrs)?;
    let name = take_name(&mut attrs)?.unwrap_or_else(|| type_name(&input.ident));
    let ext = match attrs.string("ext")? {
        Some(lit) => check_suffix(&lit)?,
        None => String::from(".sto"),
    };
    let write = attrs.path("write")?;
    let read = attrs.path("read")?;
    attrs.finish(
        "#[derive(Storable)]",
        &["name", "ext", "write", "read", "bound", "crate"],
    )?;
    let span = input.ident.span();
    let write = match write {
        Some(p) => quote_spanned!(p.span()=> #p),
        None => quote_spanned!(span=> Self::to_bytes),
    };
    let read = match read {
        Some(p) => quote_spanned!(p.span()=> #p),
        None => quote_spanned!(span=> Self::from_bytes),
    };
    let cr = &common.cr;
    let ident = &input.ident;
    let (ig, tg, wc) = common.generics(
        &input.generics,
        quote!(::core::marker::Send + ::core::marker::Sync + 'static),
    );
    Ok(quote! {
        #[automatically_derived]
        impl #ig #cr::Storable for #ident #tg #wc {
            const STO_TYPE: &'static str = #name;
            const EXTENSION: &'static str = #ext;
            fn to_stored(&self, _: &mut #cr::EncodeContext<'_>) -> #cr::Result<#cr::Stored> {
                match #write(self) {
                    ::core::result::Result::Ok(b) => ::core::result::Result::Ok(#cr::Stored::Bytes(b.into())),
                    ::core::result::Result::Err(e) => ::core::result::Result::Err(#cr::__private::storable_error(#name, "write", e)),
                }
            }
            fn from_stored(stored: #cr::Stored, _: &#cr::DecodeContext) -> #cr::Result<Self> {
                #read(&stored.into_bytes()).map_err(|e| #cr::__private::storable_error(#name, "read", e))
            }
        }
    })
}

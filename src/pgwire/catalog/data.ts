// The shape of PostgreSQL's system catalog, as data: the columns (name and type OID; a domain as its
// base type, as a RowDescription gives it) of the pg_catalog and information_schema relations the
// wire gateway answers, and the built-in types it lists in pg_type. Taken from PostgreSQL 15's own
// catalog with
//   SELECT n.nspname || '.' || c.relname, string_agg(a.attname || ':' || <base type oid>, ' ' ORDER BY a.attnum)
//   FROM pg_class c JOIN pg_namespace n ... JOIN pg_attribute a ... (attnum > 0)
// and SELECT oid, typname, typlen, typbyval, typtype, typcategory, typispreferred, typelem, typarray,
// typinput, typoutput, typreceive, typsend, typalign, typstorage, typcollation FROM pg_type.
// Which rows each relation has is catalog.ts's business; this file holds no rows of the policy.

/** Relation name → its columns, `name:typeoid` separated by spaces, in attnum order. */
export const RELATIONS: Readonly<Record<string, string>> = {
  'information_schema.administrable_role_authorizations': 'grantee:19 role_name:19 is_grantable:1043',
  'information_schema.applicable_roles': 'grantee:19 role_name:19 is_grantable:1043',
  'information_schema.attributes':
    'udt_catalog:19 udt_schema:19 udt_name:19 attribute_name:19 ordinal_position:23 attribute_default:1043 is_nullable:1043 data_type:1043 character_maximum_length:23 character_octet_length:23 character_set_catalog:19 character_set_schema:19 character_set_name:19 collation_catalog:19 collation_schema:19 collation_name:19 numeric_precision:23 numeric_precision_radix:23 numeric_scale:23 datetime_precision:23 interval_type:1043 interval_precision:23 attribute_udt_catalog:19 attribute_udt_schema:19 attribute_udt_name:19 scope_catalog:19 scope_schema:19 scope_name:19 maximum_cardinality:23 dtd_identifier:19 is_derived_reference_attribute:1043',
  'information_schema.character_sets':
    'character_set_catalog:19 character_set_schema:19 character_set_name:19 character_repertoire:19 form_of_use:19 default_collate_catalog:19 default_collate_schema:19 default_collate_name:19',
  'information_schema.check_constraint_routine_usage':
    'constraint_catalog:19 constraint_schema:19 constraint_name:19 specific_catalog:19 specific_schema:19 specific_name:19',
  'information_schema.check_constraints': 'constraint_catalog:19 constraint_schema:19 constraint_name:19 check_clause:1043',
  'information_schema.collation_character_set_applicability':
    'collation_catalog:19 collation_schema:19 collation_name:19 character_set_catalog:19 character_set_schema:19 character_set_name:19',
  'information_schema.collations': 'collation_catalog:19 collation_schema:19 collation_name:19 pad_attribute:1043',
  'information_schema.column_column_usage': 'table_catalog:19 table_schema:19 table_name:19 column_name:19 dependent_column:19',
  'information_schema.column_domain_usage': 'domain_catalog:19 domain_schema:19 domain_name:19 table_catalog:19 table_schema:19 table_name:19 column_name:19',
  'information_schema.column_options': 'table_catalog:19 table_schema:19 table_name:19 column_name:19 option_name:19 option_value:1043',
  'information_schema.column_privileges':
    'grantor:19 grantee:19 table_catalog:19 table_schema:19 table_name:19 column_name:19 privilege_type:1043 is_grantable:1043',
  'information_schema.column_udt_usage': 'udt_catalog:19 udt_schema:19 udt_name:19 table_catalog:19 table_schema:19 table_name:19 column_name:19',
  'information_schema.columns':
    'table_catalog:19 table_schema:19 table_name:19 column_name:19 ordinal_position:23 column_default:1043 is_nullable:1043 data_type:1043 character_maximum_length:23 character_octet_length:23 numeric_precision:23 numeric_precision_radix:23 numeric_scale:23 datetime_precision:23 interval_type:1043 interval_precision:23 character_set_catalog:19 character_set_schema:19 character_set_name:19 collation_catalog:19 collation_schema:19 collation_name:19 domain_catalog:19 domain_schema:19 domain_name:19 udt_catalog:19 udt_schema:19 udt_name:19 scope_catalog:19 scope_schema:19 scope_name:19 maximum_cardinality:23 dtd_identifier:19 is_self_referencing:1043 is_identity:1043 identity_generation:1043 identity_start:1043 identity_increment:1043 identity_maximum:1043 identity_minimum:1043 identity_cycle:1043 is_generated:1043 generation_expression:1043 is_updatable:1043',
  'information_schema.constraint_column_usage':
    'table_catalog:19 table_schema:19 table_name:19 column_name:19 constraint_catalog:19 constraint_schema:19 constraint_name:19',
  'information_schema.constraint_table_usage': 'table_catalog:19 table_schema:19 table_name:19 constraint_catalog:19 constraint_schema:19 constraint_name:19',
  'information_schema.data_type_privileges': 'object_catalog:19 object_schema:19 object_name:19 object_type:1043 dtd_identifier:19',
  'information_schema.domain_constraints':
    'constraint_catalog:19 constraint_schema:19 constraint_name:19 domain_catalog:19 domain_schema:19 domain_name:19 is_deferrable:1043 initially_deferred:1043',
  'information_schema.domain_udt_usage': 'udt_catalog:19 udt_schema:19 udt_name:19 domain_catalog:19 domain_schema:19 domain_name:19',
  'information_schema.domains':
    'domain_catalog:19 domain_schema:19 domain_name:19 data_type:1043 character_maximum_length:23 character_octet_length:23 character_set_catalog:19 character_set_schema:19 character_set_name:19 collation_catalog:19 collation_schema:19 collation_name:19 numeric_precision:23 numeric_precision_radix:23 numeric_scale:23 datetime_precision:23 interval_type:1043 interval_precision:23 domain_default:1043 udt_catalog:19 udt_schema:19 udt_name:19 scope_catalog:19 scope_schema:19 scope_name:19 maximum_cardinality:23 dtd_identifier:19',
  'information_schema.element_types':
    'object_catalog:19 object_schema:19 object_name:19 object_type:1043 collection_type_identifier:19 data_type:1043 character_maximum_length:23 character_octet_length:23 character_set_catalog:19 character_set_schema:19 character_set_name:19 collation_catalog:19 collation_schema:19 collation_name:19 numeric_precision:23 numeric_precision_radix:23 numeric_scale:23 datetime_precision:23 interval_type:1043 interval_precision:23 domain_default:1043 udt_catalog:19 udt_schema:19 udt_name:19 scope_catalog:19 scope_schema:19 scope_name:19 maximum_cardinality:23 dtd_identifier:19',
  'information_schema.enabled_roles': 'role_name:19',
  'information_schema.foreign_data_wrapper_options': 'foreign_data_wrapper_catalog:19 foreign_data_wrapper_name:19 option_name:19 option_value:1043',
  'information_schema.foreign_data_wrappers':
    'foreign_data_wrapper_catalog:19 foreign_data_wrapper_name:19 authorization_identifier:19 library_name:1043 foreign_data_wrapper_language:1043',
  'information_schema.foreign_server_options': 'foreign_server_catalog:19 foreign_server_name:19 option_name:19 option_value:1043',
  'information_schema.foreign_servers':
    'foreign_server_catalog:19 foreign_server_name:19 foreign_data_wrapper_catalog:19 foreign_data_wrapper_name:19 foreign_server_type:1043 foreign_server_version:1043 authorization_identifier:19',
  'information_schema.foreign_table_options': 'foreign_table_catalog:19 foreign_table_schema:19 foreign_table_name:19 option_name:19 option_value:1043',
  'information_schema.foreign_tables':
    'foreign_table_catalog:19 foreign_table_schema:19 foreign_table_name:19 foreign_server_catalog:19 foreign_server_name:19',
  'information_schema.information_schema_catalog_name': 'catalog_name:19',
  'information_schema.key_column_usage':
    'constraint_catalog:19 constraint_schema:19 constraint_name:19 table_catalog:19 table_schema:19 table_name:19 column_name:19 ordinal_position:23 position_in_unique_constraint:23',
  'information_schema.parameters':
    'specific_catalog:19 specific_schema:19 specific_name:19 ordinal_position:23 parameter_mode:1043 is_result:1043 as_locator:1043 parameter_name:19 data_type:1043 character_maximum_length:23 character_octet_length:23 character_set_catalog:19 character_set_schema:19 character_set_name:19 collation_catalog:19 collation_schema:19 collation_name:19 numeric_precision:23 numeric_precision_radix:23 numeric_scale:23 datetime_precision:23 interval_type:1043 interval_precision:23 udt_catalog:19 udt_schema:19 udt_name:19 scope_catalog:19 scope_schema:19 scope_name:19 maximum_cardinality:23 dtd_identifier:19 parameter_default:1043',
  'information_schema.referential_constraints':
    'constraint_catalog:19 constraint_schema:19 constraint_name:19 unique_constraint_catalog:19 unique_constraint_schema:19 unique_constraint_name:19 match_option:1043 update_rule:1043 delete_rule:1043',
  'information_schema.role_column_grants':
    'grantor:19 grantee:19 table_catalog:19 table_schema:19 table_name:19 column_name:19 privilege_type:1043 is_grantable:1043',
  'information_schema.role_routine_grants':
    'grantor:19 grantee:19 specific_catalog:19 specific_schema:19 specific_name:19 routine_catalog:19 routine_schema:19 routine_name:19 privilege_type:1043 is_grantable:1043',
  'information_schema.role_table_grants':
    'grantor:19 grantee:19 table_catalog:19 table_schema:19 table_name:19 privilege_type:1043 is_grantable:1043 with_hierarchy:1043',
  'information_schema.role_udt_grants': 'grantor:19 grantee:19 udt_catalog:19 udt_schema:19 udt_name:19 privilege_type:1043 is_grantable:1043',
  'information_schema.role_usage_grants':
    'grantor:19 grantee:19 object_catalog:19 object_schema:19 object_name:19 object_type:1043 privilege_type:1043 is_grantable:1043',
  'information_schema.routine_column_usage':
    'specific_catalog:19 specific_schema:19 specific_name:19 routine_catalog:19 routine_schema:19 routine_name:19 table_catalog:19 table_schema:19 table_name:19 column_name:19',
  'information_schema.routine_privileges':
    'grantor:19 grantee:19 specific_catalog:19 specific_schema:19 specific_name:19 routine_catalog:19 routine_schema:19 routine_name:19 privilege_type:1043 is_grantable:1043',
  'information_schema.routine_routine_usage': 'specific_catalog:19 specific_schema:19 specific_name:19 routine_catalog:19 routine_schema:19 routine_name:19',
  'information_schema.routine_sequence_usage':
    'specific_catalog:19 specific_schema:19 specific_name:19 routine_catalog:19 routine_schema:19 routine_name:19 sequence_catalog:19 sequence_schema:19 sequence_name:19',
  'information_schema.routine_table_usage':
    'specific_catalog:19 specific_schema:19 specific_name:19 routine_catalog:19 routine_schema:19 routine_name:19 table_catalog:19 table_schema:19 table_name:19',
  'information_schema.routines':
    'specific_catalog:19 specific_schema:19 specific_name:19 routine_catalog:19 routine_schema:19 routine_name:19 routine_type:1043 module_catalog:19 module_schema:19 module_name:19 udt_catalog:19 udt_schema:19 udt_name:19 data_type:1043 character_maximum_length:23 character_octet_length:23 character_set_catalog:19 character_set_schema:19 character_set_name:19 collation_catalog:19 collation_schema:19 collation_name:19 numeric_precision:23 numeric_precision_radix:23 numeric_scale:23 datetime_precision:23 interval_type:1043 interval_precision:23 type_udt_catalog:19 type_udt_schema:19 type_udt_name:19 scope_catalog:19 scope_schema:19 scope_name:19 maximum_cardinality:23 dtd_identifier:19 routine_body:1043 routine_definition:1043 external_name:1043 external_language:1043 parameter_style:1043 is_deterministic:1043 sql_data_access:1043 is_null_call:1043 sql_path:1043 schema_level_routine:1043 max_dynamic_result_sets:23 is_user_defined_cast:1043 is_implicitly_invocable:1043 security_type:1043 to_sql_specific_catalog:19 to_sql_specific_schema:19 to_sql_specific_name:19 as_locator:1043 created:1184 last_altered:1184 new_savepoint_level:1043 is_udt_dependent:1043 result_cast_from_data_type:1043 result_cast_as_locator:1043 result_cast_char_max_length:23 result_cast_char_octet_length:23 result_cast_char_set_catalog:19 result_cast_char_set_schema:19 result_cast_char_set_name:19 result_cast_collation_catalog:19 result_cast_collation_schema:19 result_cast_collation_name:19 result_cast_numeric_precision:23 result_cast_numeric_precision_radix:23 result_cast_numeric_scale:23 result_cast_datetime_precision:23 result_cast_interval_type:1043 result_cast_interval_precision:23 result_cast_type_udt_catalog:19 result_cast_type_udt_schema:19 result_cast_type_udt_name:19 result_cast_scope_catalog:19 result_cast_scope_schema:19 result_cast_scope_name:19 result_cast_maximum_cardinality:23 result_cast_dtd_identifier:19',
  'information_schema.schemata':
    'catalog_name:19 schema_name:19 schema_owner:19 default_character_set_catalog:19 default_character_set_schema:19 default_character_set_name:19 sql_path:1043',
  'information_schema.sequences':
    'sequence_catalog:19 sequence_schema:19 sequence_name:19 data_type:1043 numeric_precision:23 numeric_precision_radix:23 numeric_scale:23 start_value:1043 minimum_value:1043 maximum_value:1043 increment:1043 cycle_option:1043',
  'information_schema.sql_features':
    'feature_id:1043 feature_name:1043 sub_feature_id:1043 sub_feature_name:1043 is_supported:1043 is_verified_by:1043 comments:1043',
  'information_schema.sql_implementation_info': 'implementation_info_id:1043 implementation_info_name:1043 integer_value:23 character_value:1043 comments:1043',
  'information_schema.sql_parts': 'feature_id:1043 feature_name:1043 is_supported:1043 is_verified_by:1043 comments:1043',
  'information_schema.sql_sizing': 'sizing_id:23 sizing_name:1043 supported_value:23 comments:1043',
  'information_schema.table_constraints':
    'constraint_catalog:19 constraint_schema:19 constraint_name:19 table_catalog:19 table_schema:19 table_name:19 constraint_type:1043 is_deferrable:1043 initially_deferred:1043 enforced:1043 nulls_distinct:1043',
  'information_schema.table_privileges':
    'grantor:19 grantee:19 table_catalog:19 table_schema:19 table_name:19 privilege_type:1043 is_grantable:1043 with_hierarchy:1043',
  'information_schema.tables':
    'table_catalog:19 table_schema:19 table_name:19 table_type:1043 self_referencing_column_name:19 reference_generation:1043 user_defined_type_catalog:19 user_defined_type_schema:19 user_defined_type_name:19 is_insertable_into:1043 is_typed:1043 commit_action:1043',
  'information_schema.transforms':
    'udt_catalog:19 udt_schema:19 udt_name:19 specific_catalog:19 specific_schema:19 specific_name:19 group_name:19 transform_type:1043',
  'information_schema.triggered_update_columns':
    'trigger_catalog:19 trigger_schema:19 trigger_name:19 event_object_catalog:19 event_object_schema:19 event_object_table:19 event_object_column:19',
  'information_schema.triggers':
    'trigger_catalog:19 trigger_schema:19 trigger_name:19 event_manipulation:1043 event_object_catalog:19 event_object_schema:19 event_object_table:19 action_order:23 action_condition:1043 action_statement:1043 action_orientation:1043 action_timing:1043 action_reference_old_table:19 action_reference_new_table:19 action_reference_old_row:19 action_reference_new_row:19 created:1184',
  'information_schema.udt_privileges': 'grantor:19 grantee:19 udt_catalog:19 udt_schema:19 udt_name:19 privilege_type:1043 is_grantable:1043',
  'information_schema.usage_privileges':
    'grantor:19 grantee:19 object_catalog:19 object_schema:19 object_name:19 object_type:1043 privilege_type:1043 is_grantable:1043',
  'information_schema.user_defined_types':
    'user_defined_type_catalog:19 user_defined_type_schema:19 user_defined_type_name:19 user_defined_type_category:1043 is_instantiable:1043 is_final:1043 ordering_form:1043 ordering_category:1043 ordering_routine_catalog:19 ordering_routine_schema:19 ordering_routine_name:19 reference_type:1043 data_type:1043 character_maximum_length:23 character_octet_length:23 character_set_catalog:19 character_set_schema:19 character_set_name:19 collation_catalog:19 collation_schema:19 collation_name:19 numeric_precision:23 numeric_precision_radix:23 numeric_scale:23 datetime_precision:23 interval_type:1043 interval_precision:23 source_dtd_identifier:19 ref_dtd_identifier:19',
  'information_schema.user_mapping_options': 'authorization_identifier:19 foreign_server_catalog:19 foreign_server_name:19 option_name:19 option_value:1043',
  'information_schema.user_mappings': 'authorization_identifier:19 foreign_server_catalog:19 foreign_server_name:19',
  'information_schema.view_column_usage': 'view_catalog:19 view_schema:19 view_name:19 table_catalog:19 table_schema:19 table_name:19 column_name:19',
  'information_schema.view_routine_usage': 'table_catalog:19 table_schema:19 table_name:19 specific_catalog:19 specific_schema:19 specific_name:19',
  'information_schema.view_table_usage': 'view_catalog:19 view_schema:19 view_name:19 table_catalog:19 table_schema:19 table_name:19',
  'information_schema.views':
    'table_catalog:19 table_schema:19 table_name:19 view_definition:1043 check_option:1043 is_updatable:1043 is_insertable_into:1043 is_trigger_updatable:1043 is_trigger_deletable:1043 is_trigger_insertable_into:1043',
  'pg_catalog.pg_aggregate':
    'aggfnoid:24 aggkind:18 aggnumdirectargs:21 aggtransfn:24 aggfinalfn:24 aggcombinefn:24 aggserialfn:24 aggdeserialfn:24 aggmtransfn:24 aggminvtransfn:24 aggmfinalfn:24 aggfinalextra:16 aggmfinalextra:16 aggfinalmodify:18 aggmfinalmodify:18 aggsortop:26 aggtranstype:26 aggtransspace:23 aggmtranstype:26 aggmtransspace:23 agginitval:25 aggminitval:25',
  'pg_catalog.pg_am': 'oid:26 amname:19 amhandler:24 amtype:18',
  'pg_catalog.pg_amop': 'oid:26 amopfamily:26 amoplefttype:26 amoprighttype:26 amopstrategy:21 amoppurpose:18 amopopr:26 amopmethod:26 amopsortfamily:26',
  'pg_catalog.pg_amproc': 'oid:26 amprocfamily:26 amproclefttype:26 amprocrighttype:26 amprocnum:21 amproc:24',
  'pg_catalog.pg_attrdef': 'oid:26 adrelid:26 adnum:21 adbin:194',
  'pg_catalog.pg_attribute':
    'attrelid:26 attname:19 atttypid:26 attstattarget:23 attlen:21 attnum:21 attndims:23 attcacheoff:23 atttypmod:23 attbyval:16 attalign:18 attstorage:18 attcompression:18 attnotnull:16 atthasdef:16 atthasmissing:16 attidentity:18 attgenerated:18 attisdropped:16 attislocal:16 attinhcount:23 attcollation:26 attacl:1034 attoptions:1009 attfdwoptions:1009 attmissingval:2277',
  'pg_catalog.pg_auth_members': 'roleid:26 member:26 grantor:26 admin_option:16',
  'pg_catalog.pg_authid':
    'oid:26 rolname:19 rolsuper:16 rolinherit:16 rolcreaterole:16 rolcreatedb:16 rolcanlogin:16 rolreplication:16 rolbypassrls:16 rolconnlimit:23 rolpassword:25 rolvaliduntil:1184',
  'pg_catalog.pg_available_extension_versions': 'name:19 version:25 installed:16 superuser:16 trusted:16 relocatable:16 schema:19 requires:1003 comment:25',
  'pg_catalog.pg_available_extensions': 'name:19 default_version:25 installed_version:25 comment:25',
  'pg_catalog.pg_backend_memory_contexts': 'name:25 ident:25 parent:25 level:23 total_bytes:20 total_nblocks:20 free_bytes:20 free_chunks:20 used_bytes:20',
  'pg_catalog.pg_cast': 'oid:26 castsource:26 casttarget:26 castfunc:26 castcontext:18 castmethod:18',
  'pg_catalog.pg_class':
    'oid:26 relname:19 relnamespace:26 reltype:26 reloftype:26 relowner:26 relam:26 relfilenode:26 reltablespace:26 relpages:23 reltuples:700 relallvisible:23 reltoastrelid:26 relhasindex:16 relisshared:16 relpersistence:18 relkind:18 relnatts:21 relchecks:21 relhasrules:16 relhastriggers:16 relhassubclass:16 relrowsecurity:16 relforcerowsecurity:16 relispopulated:16 relreplident:18 relispartition:16 relrewrite:26 relfrozenxid:28 relminmxid:28 relacl:1034 reloptions:1009 relpartbound:194',
  'pg_catalog.pg_collation':
    'oid:26 collname:19 collnamespace:26 collowner:26 collprovider:18 collisdeterministic:16 collencoding:23 collcollate:25 collctype:25 colliculocale:25 collversion:25',
  'pg_catalog.pg_config': 'name:25 setting:25',
  'pg_catalog.pg_constraint':
    'oid:26 conname:19 connamespace:26 contype:18 condeferrable:16 condeferred:16 convalidated:16 conrelid:26 contypid:26 conindid:26 conparentid:26 confrelid:26 confupdtype:18 confdeltype:18 confmatchtype:18 conislocal:16 coninhcount:23 connoinherit:16 conkey:1005 confkey:1005 conpfeqop:1028 conppeqop:1028 conffeqop:1028 confdelsetcols:1005 conexclop:1028 conbin:194',
  'pg_catalog.pg_conversion': 'oid:26 conname:19 connamespace:26 conowner:26 conforencoding:23 contoencoding:23 conproc:24 condefault:16',
  'pg_catalog.pg_cursors': 'name:25 statement:25 is_holdable:16 is_binary:16 is_scrollable:16 creation_time:1184',
  'pg_catalog.pg_database':
    'oid:26 datname:19 datdba:26 encoding:23 datlocprovider:18 datistemplate:16 datallowconn:16 datconnlimit:23 datfrozenxid:28 datminmxid:28 dattablespace:26 datcollate:25 datctype:25 daticulocale:25 datcollversion:25 datacl:1034',
  'pg_catalog.pg_db_role_setting': 'setdatabase:26 setrole:26 setconfig:1009',
  'pg_catalog.pg_default_acl': 'oid:26 defaclrole:26 defaclnamespace:26 defaclobjtype:18 defaclacl:1034',
  'pg_catalog.pg_depend': 'classid:26 objid:26 objsubid:23 refclassid:26 refobjid:26 refobjsubid:23 deptype:18',
  'pg_catalog.pg_description': 'objoid:26 classoid:26 objsubid:23 description:25',
  'pg_catalog.pg_enum': 'oid:26 enumtypid:26 enumsortorder:700 enumlabel:19',
  'pg_catalog.pg_event_trigger': 'oid:26 evtname:19 evtevent:19 evtowner:26 evtfoid:26 evtenabled:18 evttags:1009',
  'pg_catalog.pg_extension': 'oid:26 extname:19 extowner:26 extnamespace:26 extrelocatable:16 extversion:25 extconfig:1028 extcondition:1009',
  'pg_catalog.pg_file_settings': 'sourcefile:25 sourceline:23 seqno:23 name:25 setting:25 applied:16 error:25',
  'pg_catalog.pg_foreign_data_wrapper': 'oid:26 fdwname:19 fdwowner:26 fdwhandler:26 fdwvalidator:26 fdwacl:1034 fdwoptions:1009',
  'pg_catalog.pg_foreign_server': 'oid:26 srvname:19 srvowner:26 srvfdw:26 srvtype:25 srvversion:25 srvacl:1034 srvoptions:1009',
  'pg_catalog.pg_foreign_table': 'ftrelid:26 ftserver:26 ftoptions:1009',
  'pg_catalog.pg_group': 'groname:19 grosysid:26 grolist:1028',
  'pg_catalog.pg_hba_file_rules': 'line_number:23 type:25 database:1009 user_name:1009 address:25 netmask:25 auth_method:25 options:1009 error:25',
  'pg_catalog.pg_ident_file_mappings': 'line_number:23 map_name:25 sys_name:25 pg_username:25 error:25',
  'pg_catalog.pg_index':
    'indexrelid:26 indrelid:26 indnatts:21 indnkeyatts:21 indisunique:16 indnullsnotdistinct:16 indisprimary:16 indisexclusion:16 indimmediate:16 indisclustered:16 indisvalid:16 indcheckxmin:16 indisready:16 indislive:16 indisreplident:16 indkey:22 indcollation:30 indclass:30 indoption:22 indexprs:194 indpred:194',
  'pg_catalog.pg_indexes': 'schemaname:19 tablename:19 indexname:19 tablespace:19 indexdef:25',
  'pg_catalog.pg_inherits': 'inhrelid:26 inhparent:26 inhseqno:23 inhdetachpending:16',
  'pg_catalog.pg_init_privs': 'objoid:26 classoid:26 objsubid:23 privtype:18 initprivs:1034',
  'pg_catalog.pg_language': 'oid:26 lanname:19 lanowner:26 lanispl:16 lanpltrusted:16 lanplcallfoid:26 laninline:26 lanvalidator:26 lanacl:1034',
  'pg_catalog.pg_largeobject': 'loid:26 pageno:23 data:17',
  'pg_catalog.pg_largeobject_metadata': 'oid:26 lomowner:26 lomacl:1034',
  'pg_catalog.pg_locks':
    'locktype:25 database:26 relation:26 page:23 tuple:21 virtualxid:25 transactionid:28 classid:26 objid:26 objsubid:21 virtualtransaction:25 pid:23 mode:25 granted:16 fastpath:16 waitstart:1184',
  'pg_catalog.pg_matviews': 'schemaname:19 matviewname:19 matviewowner:19 tablespace:19 hasindexes:16 ispopulated:16 definition:25',
  'pg_catalog.pg_namespace': 'oid:26 nspname:19 nspowner:26 nspacl:1034',
  'pg_catalog.pg_opclass': 'oid:26 opcmethod:26 opcname:19 opcnamespace:26 opcowner:26 opcfamily:26 opcintype:26 opcdefault:16 opckeytype:26',
  'pg_catalog.pg_operator':
    'oid:26 oprname:19 oprnamespace:26 oprowner:26 oprkind:18 oprcanmerge:16 oprcanhash:16 oprleft:26 oprright:26 oprresult:26 oprcom:26 oprnegate:26 oprcode:24 oprrest:24 oprjoin:24',
  'pg_catalog.pg_opfamily': 'oid:26 opfmethod:26 opfname:19 opfnamespace:26 opfowner:26',
  'pg_catalog.pg_parameter_acl': 'oid:26 parname:25 paracl:1034',
  'pg_catalog.pg_partitioned_table': 'partrelid:26 partstrat:18 partnatts:21 partdefid:26 partattrs:22 partclass:30 partcollation:30 partexprs:194',
  'pg_catalog.pg_policies': 'schemaname:19 tablename:19 policyname:19 permissive:25 roles:1003 cmd:25 qual:25 with_check:25',
  'pg_catalog.pg_policy': 'oid:26 polname:19 polrelid:26 polcmd:18 polpermissive:16 polroles:1028 polqual:194 polwithcheck:194',
  'pg_catalog.pg_prepared_statements': 'name:25 statement:25 prepare_time:1184 parameter_types:2211 from_sql:16 generic_plans:20 custom_plans:20',
  'pg_catalog.pg_prepared_xacts': 'transaction:28 gid:25 prepared:1184 owner:19 database:19',
  'pg_catalog.pg_proc':
    'oid:26 proname:19 pronamespace:26 proowner:26 prolang:26 procost:700 prorows:700 provariadic:26 prosupport:24 prokind:18 prosecdef:16 proleakproof:16 proisstrict:16 proretset:16 provolatile:18 proparallel:18 pronargs:21 pronargdefaults:21 prorettype:26 proargtypes:30 proallargtypes:1028 proargmodes:1002 proargnames:1009 proargdefaults:194 protrftypes:1028 prosrc:25 probin:25 prosqlbody:194 proconfig:1009 proacl:1034',
  'pg_catalog.pg_publication': 'oid:26 pubname:19 pubowner:26 puballtables:16 pubinsert:16 pubupdate:16 pubdelete:16 pubtruncate:16 pubviaroot:16',
  'pg_catalog.pg_publication_namespace': 'oid:26 pnpubid:26 pnnspid:26',
  'pg_catalog.pg_publication_rel': 'oid:26 prpubid:26 prrelid:26 prqual:194 prattrs:22',
  'pg_catalog.pg_publication_tables': 'pubname:19 schemaname:19 tablename:19 attnames:1003 rowfilter:25',
  'pg_catalog.pg_range': 'rngtypid:26 rngsubtype:26 rngmultitypid:26 rngcollation:26 rngsubopc:26 rngcanonical:24 rngsubdiff:24',
  'pg_catalog.pg_replication_origin': 'roident:26 roname:25',
  'pg_catalog.pg_replication_origin_status': 'local_id:26 external_id:25 remote_lsn:3220 local_lsn:3220',
  'pg_catalog.pg_replication_slots':
    'slot_name:19 plugin:19 slot_type:25 datoid:26 database:19 temporary:16 active:16 active_pid:23 xmin:28 catalog_xmin:28 restart_lsn:3220 confirmed_flush_lsn:3220 wal_status:25 safe_wal_size:20 two_phase:16',
  'pg_catalog.pg_rewrite': 'oid:26 rulename:19 ev_class:26 ev_type:18 ev_enabled:18 is_instead:16 ev_qual:194 ev_action:194',
  'pg_catalog.pg_roles':
    'rolname:19 rolsuper:16 rolinherit:16 rolcreaterole:16 rolcreatedb:16 rolcanlogin:16 rolreplication:16 rolconnlimit:23 rolpassword:25 rolvaliduntil:1184 rolbypassrls:16 rolconfig:1009 oid:26',
  'pg_catalog.pg_rules': 'schemaname:19 tablename:19 rulename:19 definition:25',
  'pg_catalog.pg_seclabel': 'objoid:26 classoid:26 objsubid:23 provider:25 label:25',
  'pg_catalog.pg_seclabels': 'objoid:26 classoid:26 objsubid:23 objtype:25 objnamespace:26 objname:25 provider:25 label:25',
  'pg_catalog.pg_sequence': 'seqrelid:26 seqtypid:26 seqstart:20 seqincrement:20 seqmax:20 seqmin:20 seqcache:20 seqcycle:16',
  'pg_catalog.pg_sequences':
    'schemaname:19 sequencename:19 sequenceowner:19 data_type:2206 start_value:20 min_value:20 max_value:20 increment_by:20 cycle:16 cache_size:20 last_value:20',
  'pg_catalog.pg_settings':
    'name:25 setting:25 unit:25 category:25 short_desc:25 extra_desc:25 context:25 vartype:25 source:25 min_val:25 max_val:25 enumvals:1009 boot_val:25 reset_val:25 sourcefile:25 sourceline:23 pending_restart:16',
  'pg_catalog.pg_shadow': 'usename:19 usesysid:26 usecreatedb:16 usesuper:16 userepl:16 usebypassrls:16 passwd:25 valuntil:1184 useconfig:1009',
  'pg_catalog.pg_shdepend': 'dbid:26 classid:26 objid:26 objsubid:23 refclassid:26 refobjid:26 deptype:18',
  'pg_catalog.pg_shdescription': 'objoid:26 classoid:26 description:25',
  'pg_catalog.pg_shmem_allocations': 'name:25 off:20 size:20 allocated_size:20',
  'pg_catalog.pg_shseclabel': 'objoid:26 classoid:26 provider:25 label:25',
  'pg_catalog.pg_stat_activity':
    'datid:26 datname:19 pid:23 leader_pid:23 usesysid:26 usename:19 application_name:25 client_addr:869 client_hostname:25 client_port:23 backend_start:1184 xact_start:1184 query_start:1184 state_change:1184 wait_event_type:25 wait_event:25 state:25 backend_xid:28 backend_xmin:28 query_id:20 query:25 backend_type:25',
  'pg_catalog.pg_stat_all_indexes': 'relid:26 indexrelid:26 schemaname:19 relname:19 indexrelname:19 idx_scan:20 idx_tup_read:20 idx_tup_fetch:20',
  'pg_catalog.pg_stat_all_tables':
    'relid:26 schemaname:19 relname:19 seq_scan:20 seq_tup_read:20 idx_scan:20 idx_tup_fetch:20 n_tup_ins:20 n_tup_upd:20 n_tup_del:20 n_tup_hot_upd:20 n_live_tup:20 n_dead_tup:20 n_mod_since_analyze:20 n_ins_since_vacuum:20 last_vacuum:1184 last_autovacuum:1184 last_analyze:1184 last_autoanalyze:1184 vacuum_count:20 autovacuum_count:20 analyze_count:20 autoanalyze_count:20',
  'pg_catalog.pg_stat_archiver':
    'archived_count:20 last_archived_wal:25 last_archived_time:1184 failed_count:20 last_failed_wal:25 last_failed_time:1184 stats_reset:1184',
  'pg_catalog.pg_stat_bgwriter':
    'checkpoints_timed:20 checkpoints_req:20 checkpoint_write_time:701 checkpoint_sync_time:701 buffers_checkpoint:20 buffers_clean:20 maxwritten_clean:20 buffers_backend:20 buffers_backend_fsync:20 buffers_alloc:20 stats_reset:1184',
  'pg_catalog.pg_stat_database':
    'datid:26 datname:19 numbackends:23 xact_commit:20 xact_rollback:20 blks_read:20 blks_hit:20 tup_returned:20 tup_fetched:20 tup_inserted:20 tup_updated:20 tup_deleted:20 conflicts:20 temp_files:20 temp_bytes:20 deadlocks:20 checksum_failures:20 checksum_last_failure:1184 blk_read_time:701 blk_write_time:701 session_time:701 active_time:701 idle_in_transaction_time:701 sessions:20 sessions_abandoned:20 sessions_fatal:20 sessions_killed:20 stats_reset:1184',
  'pg_catalog.pg_stat_database_conflicts': 'datid:26 datname:19 confl_tablespace:20 confl_lock:20 confl_snapshot:20 confl_bufferpin:20 confl_deadlock:20',
  'pg_catalog.pg_stat_gssapi': 'pid:23 gss_authenticated:16 principal:25 encrypted:16',
  'pg_catalog.pg_stat_progress_analyze':
    'pid:23 datid:26 datname:19 relid:26 phase:25 sample_blks_total:20 sample_blks_scanned:20 ext_stats_total:20 ext_stats_computed:20 child_tables_total:20 child_tables_done:20 current_child_table_relid:26',
  'pg_catalog.pg_stat_progress_basebackup': 'pid:23 phase:25 backup_total:20 backup_streamed:20 tablespaces_total:20 tablespaces_streamed:20',
  'pg_catalog.pg_stat_progress_cluster':
    'pid:23 datid:26 datname:19 relid:26 command:25 phase:25 cluster_index_relid:26 heap_tuples_scanned:20 heap_tuples_written:20 heap_blks_total:20 heap_blks_scanned:20 index_rebuild_count:20',
  'pg_catalog.pg_stat_progress_copy':
    'pid:23 datid:26 datname:19 relid:26 command:25 type:25 bytes_processed:20 bytes_total:20 tuples_processed:20 tuples_excluded:20',
  'pg_catalog.pg_stat_progress_create_index':
    'pid:23 datid:26 datname:19 relid:26 index_relid:26 command:25 phase:25 lockers_total:20 lockers_done:20 current_locker_pid:20 blocks_total:20 blocks_done:20 tuples_total:20 tuples_done:20 partitions_total:20 partitions_done:20',
  'pg_catalog.pg_stat_progress_vacuum':
    'pid:23 datid:26 datname:19 relid:26 phase:25 heap_blks_total:20 heap_blks_scanned:20 heap_blks_vacuumed:20 index_vacuum_count:20 max_dead_tuples:20 num_dead_tuples:20',
  'pg_catalog.pg_stat_recovery_prefetch':
    'stats_reset:1184 prefetch:20 hit:20 skip_init:20 skip_new:20 skip_fpw:20 skip_rep:20 wal_distance:23 block_distance:23 io_depth:23',
  'pg_catalog.pg_stat_replication':
    'pid:23 usesysid:26 usename:19 application_name:25 client_addr:869 client_hostname:25 client_port:23 backend_start:1184 backend_xmin:28 state:25 sent_lsn:3220 write_lsn:3220 flush_lsn:3220 replay_lsn:3220 write_lag:1186 flush_lag:1186 replay_lag:1186 sync_priority:23 sync_state:25 reply_time:1184',
  'pg_catalog.pg_stat_replication_slots':
    'slot_name:25 spill_txns:20 spill_count:20 spill_bytes:20 stream_txns:20 stream_count:20 stream_bytes:20 total_txns:20 total_bytes:20 stats_reset:1184',
  'pg_catalog.pg_stat_slru': 'name:25 blks_zeroed:20 blks_hit:20 blks_read:20 blks_written:20 blks_exists:20 flushes:20 truncates:20 stats_reset:1184',
  'pg_catalog.pg_stat_ssl': 'pid:23 ssl:16 version:25 cipher:25 bits:23 client_dn:25 client_serial:1700 issuer_dn:25',
  'pg_catalog.pg_stat_subscription':
    'subid:26 subname:19 pid:23 relid:26 received_lsn:3220 last_msg_send_time:1184 last_msg_receipt_time:1184 latest_end_lsn:3220 latest_end_time:1184',
  'pg_catalog.pg_stat_subscription_stats': 'subid:26 subname:19 apply_error_count:20 sync_error_count:20 stats_reset:1184',
  'pg_catalog.pg_stat_sys_indexes': 'relid:26 indexrelid:26 schemaname:19 relname:19 indexrelname:19 idx_scan:20 idx_tup_read:20 idx_tup_fetch:20',
  'pg_catalog.pg_stat_sys_tables':
    'relid:26 schemaname:19 relname:19 seq_scan:20 seq_tup_read:20 idx_scan:20 idx_tup_fetch:20 n_tup_ins:20 n_tup_upd:20 n_tup_del:20 n_tup_hot_upd:20 n_live_tup:20 n_dead_tup:20 n_mod_since_analyze:20 n_ins_since_vacuum:20 last_vacuum:1184 last_autovacuum:1184 last_analyze:1184 last_autoanalyze:1184 vacuum_count:20 autovacuum_count:20 analyze_count:20 autoanalyze_count:20',
  'pg_catalog.pg_stat_user_functions': 'funcid:26 schemaname:19 funcname:19 calls:20 total_time:701 self_time:701',
  'pg_catalog.pg_stat_user_indexes': 'relid:26 indexrelid:26 schemaname:19 relname:19 indexrelname:19 idx_scan:20 idx_tup_read:20 idx_tup_fetch:20',
  'pg_catalog.pg_stat_user_tables':
    'relid:26 schemaname:19 relname:19 seq_scan:20 seq_tup_read:20 idx_scan:20 idx_tup_fetch:20 n_tup_ins:20 n_tup_upd:20 n_tup_del:20 n_tup_hot_upd:20 n_live_tup:20 n_dead_tup:20 n_mod_since_analyze:20 n_ins_since_vacuum:20 last_vacuum:1184 last_autovacuum:1184 last_analyze:1184 last_autoanalyze:1184 vacuum_count:20 autovacuum_count:20 analyze_count:20 autoanalyze_count:20',
  'pg_catalog.pg_stat_wal':
    'wal_records:20 wal_fpi:20 wal_bytes:1700 wal_buffers_full:20 wal_write:20 wal_sync:20 wal_write_time:701 wal_sync_time:701 stats_reset:1184',
  'pg_catalog.pg_stat_wal_receiver':
    'pid:23 status:25 receive_start_lsn:3220 receive_start_tli:23 written_lsn:3220 flushed_lsn:3220 received_tli:23 last_msg_send_time:1184 last_msg_receipt_time:1184 latest_end_lsn:3220 latest_end_time:1184 slot_name:25 sender_host:25 sender_port:23 conninfo:25',
  'pg_catalog.pg_stat_xact_all_tables':
    'relid:26 schemaname:19 relname:19 seq_scan:20 seq_tup_read:20 idx_scan:20 idx_tup_fetch:20 n_tup_ins:20 n_tup_upd:20 n_tup_del:20 n_tup_hot_upd:20',
  'pg_catalog.pg_stat_xact_sys_tables':
    'relid:26 schemaname:19 relname:19 seq_scan:20 seq_tup_read:20 idx_scan:20 idx_tup_fetch:20 n_tup_ins:20 n_tup_upd:20 n_tup_del:20 n_tup_hot_upd:20',
  'pg_catalog.pg_stat_xact_user_functions': 'funcid:26 schemaname:19 funcname:19 calls:20 total_time:701 self_time:701',
  'pg_catalog.pg_stat_xact_user_tables':
    'relid:26 schemaname:19 relname:19 seq_scan:20 seq_tup_read:20 idx_scan:20 idx_tup_fetch:20 n_tup_ins:20 n_tup_upd:20 n_tup_del:20 n_tup_hot_upd:20',
  'pg_catalog.pg_statio_all_indexes': 'relid:26 indexrelid:26 schemaname:19 relname:19 indexrelname:19 idx_blks_read:20 idx_blks_hit:20',
  'pg_catalog.pg_statio_all_sequences': 'relid:26 schemaname:19 relname:19 blks_read:20 blks_hit:20',
  'pg_catalog.pg_statio_all_tables':
    'relid:26 schemaname:19 relname:19 heap_blks_read:20 heap_blks_hit:20 idx_blks_read:20 idx_blks_hit:20 toast_blks_read:20 toast_blks_hit:20 tidx_blks_read:20 tidx_blks_hit:20',
  'pg_catalog.pg_statio_sys_indexes': 'relid:26 indexrelid:26 schemaname:19 relname:19 indexrelname:19 idx_blks_read:20 idx_blks_hit:20',
  'pg_catalog.pg_statio_sys_sequences': 'relid:26 schemaname:19 relname:19 blks_read:20 blks_hit:20',
  'pg_catalog.pg_statio_sys_tables':
    'relid:26 schemaname:19 relname:19 heap_blks_read:20 heap_blks_hit:20 idx_blks_read:20 idx_blks_hit:20 toast_blks_read:20 toast_blks_hit:20 tidx_blks_read:20 tidx_blks_hit:20',
  'pg_catalog.pg_statio_user_indexes': 'relid:26 indexrelid:26 schemaname:19 relname:19 indexrelname:19 idx_blks_read:20 idx_blks_hit:20',
  'pg_catalog.pg_statio_user_sequences': 'relid:26 schemaname:19 relname:19 blks_read:20 blks_hit:20',
  'pg_catalog.pg_statio_user_tables':
    'relid:26 schemaname:19 relname:19 heap_blks_read:20 heap_blks_hit:20 idx_blks_read:20 idx_blks_hit:20 toast_blks_read:20 toast_blks_hit:20 tidx_blks_read:20 tidx_blks_hit:20',
  'pg_catalog.pg_statistic':
    'starelid:26 staattnum:21 stainherit:16 stanullfrac:700 stawidth:23 stadistinct:700 stakind1:21 stakind2:21 stakind3:21 stakind4:21 stakind5:21 staop1:26 staop2:26 staop3:26 staop4:26 staop5:26 stacoll1:26 stacoll2:26 stacoll3:26 stacoll4:26 stacoll5:26 stanumbers1:1021 stanumbers2:1021 stanumbers3:1021 stanumbers4:1021 stanumbers5:1021 stavalues1:2277 stavalues2:2277 stavalues3:2277 stavalues4:2277 stavalues5:2277',
  'pg_catalog.pg_statistic_ext': 'oid:26 stxrelid:26 stxname:19 stxnamespace:26 stxowner:26 stxstattarget:23 stxkeys:22 stxkind:1002 stxexprs:194',
  'pg_catalog.pg_statistic_ext_data': 'stxoid:26 stxdinherit:16 stxdndistinct:3361 stxddependencies:3402 stxdmcv:5017 stxdexpr:10028',
  'pg_catalog.pg_stats':
    'schemaname:19 tablename:19 attname:19 inherited:16 null_frac:700 avg_width:23 n_distinct:700 most_common_vals:2277 most_common_freqs:1021 histogram_bounds:2277 correlation:700 most_common_elems:2277 most_common_elem_freqs:1021 elem_count_histogram:1021',
  'pg_catalog.pg_stats_ext':
    'schemaname:19 tablename:19 statistics_schemaname:19 statistics_name:19 statistics_owner:19 attnames:1003 exprs:1009 kinds:1002 inherited:16 n_distinct:3361 dependencies:3402 most_common_vals:1009 most_common_val_nulls:1000 most_common_freqs:1022 most_common_base_freqs:1022',
  'pg_catalog.pg_stats_ext_exprs':
    'schemaname:19 tablename:19 statistics_schemaname:19 statistics_name:19 statistics_owner:19 expr:25 inherited:16 null_frac:700 avg_width:23 n_distinct:700 most_common_vals:2277 most_common_freqs:1021 histogram_bounds:2277 correlation:700 most_common_elems:2277 most_common_elem_freqs:1021 elem_count_histogram:1021',
  'pg_catalog.pg_subscription':
    'oid:26 subdbid:26 subskiplsn:3220 subname:19 subowner:26 subenabled:16 subbinary:16 substream:16 subtwophasestate:18 subdisableonerr:16 subconninfo:25 subslotname:19 subsynccommit:25 subpublications:1009',
  'pg_catalog.pg_subscription_rel': 'srsubid:26 srrelid:26 srsubstate:18 srsublsn:3220',
  'pg_catalog.pg_tables': 'schemaname:19 tablename:19 tableowner:19 tablespace:19 hasindexes:16 hasrules:16 hastriggers:16 rowsecurity:16',
  'pg_catalog.pg_tablespace': 'oid:26 spcname:19 spcowner:26 spcacl:1034 spcoptions:1009',
  'pg_catalog.pg_timezone_abbrevs': 'abbrev:25 utc_offset:1186 is_dst:16',
  'pg_catalog.pg_timezone_names': 'name:25 abbrev:25 utc_offset:1186 is_dst:16',
  'pg_catalog.pg_transform': 'oid:26 trftype:26 trflang:26 trffromsql:24 trftosql:24',
  'pg_catalog.pg_trigger':
    'oid:26 tgrelid:26 tgparentid:26 tgname:19 tgfoid:26 tgtype:21 tgenabled:18 tgisinternal:16 tgconstrrelid:26 tgconstrindid:26 tgconstraint:26 tgdeferrable:16 tginitdeferred:16 tgnargs:21 tgattr:22 tgargs:17 tgqual:194 tgoldtable:19 tgnewtable:19',
  'pg_catalog.pg_ts_config': 'oid:26 cfgname:19 cfgnamespace:26 cfgowner:26 cfgparser:26',
  'pg_catalog.pg_ts_config_map': 'mapcfg:26 maptokentype:23 mapseqno:23 mapdict:26',
  'pg_catalog.pg_ts_dict': 'oid:26 dictname:19 dictnamespace:26 dictowner:26 dicttemplate:26 dictinitoption:25',
  'pg_catalog.pg_ts_parser': 'oid:26 prsname:19 prsnamespace:26 prsstart:24 prstoken:24 prsend:24 prsheadline:24 prslextype:24',
  'pg_catalog.pg_ts_template': 'oid:26 tmplname:19 tmplnamespace:26 tmplinit:24 tmpllexize:24',
  'pg_catalog.pg_type':
    'oid:26 typname:19 typnamespace:26 typowner:26 typlen:21 typbyval:16 typtype:18 typcategory:18 typispreferred:16 typisdefined:16 typdelim:18 typrelid:26 typsubscript:24 typelem:26 typarray:26 typinput:24 typoutput:24 typreceive:24 typsend:24 typmodin:24 typmodout:24 typanalyze:24 typalign:18 typstorage:18 typnotnull:16 typbasetype:26 typtypmod:23 typndims:23 typcollation:26 typdefaultbin:194 typdefault:25 typacl:1034',
  'pg_catalog.pg_user': 'usename:19 usesysid:26 usecreatedb:16 usesuper:16 userepl:16 usebypassrls:16 passwd:25 valuntil:1184 useconfig:1009',
  'pg_catalog.pg_user_mapping': 'oid:26 umuser:26 umserver:26 umoptions:1009',
  'pg_catalog.pg_user_mappings': 'umid:26 srvid:26 srvname:19 umuser:26 usename:19 umoptions:1009',
  'pg_catalog.pg_views': 'schemaname:19 viewname:19 viewowner:19 definition:25',
};

/** Built-in types: oid typname typlen typbyval typtype typcategory typispreferred typelem typarray typinput typoutput typreceive typsend typalign typstorage typcollation. */
export const TYPES: readonly string[] = [
  '16 bool 1 t b B t 0 1000 boolin boolout boolrecv boolsend c p 0',
  '17 bytea -1 f b U f 0 1001 byteain byteaout bytearecv byteasend i x 0',
  '18 char 1 t b Z f 0 1002 charin charout charrecv charsend c p 0',
  '19 name 64 f b S f 18 1003 namein nameout namerecv namesend c p 950',
  '20 int8 8 t b N f 0 1016 int8in int8out int8recv int8send d p 0',
  '21 int2 2 t b N f 0 1005 int2in int2out int2recv int2send s p 0',
  '22 int2vector -1 f b A f 21 1006 int2vectorin int2vectorout int2vectorrecv int2vectorsend i p 0',
  '23 int4 4 t b N f 0 1007 int4in int4out int4recv int4send i p 0',
  '24 regproc 4 t b N f 0 1008 regprocin regprocout regprocrecv regprocsend i p 0',
  '25 text -1 f b S t 0 1009 textin textout textrecv textsend i x 100',
  '26 oid 4 t b N t 0 1028 oidin oidout oidrecv oidsend i p 0',
  '28 xid 4 t b U f 0 1011 xidin xidout xidrecv xidsend i p 0',
  '30 oidvector -1 f b A f 26 1013 oidvectorin oidvectorout oidvectorrecv oidvectorsend i p 0',
  '114 json -1 f b U f 0 199 json_in json_out json_recv json_send i x 0',
  '194 pg_node_tree -1 f b Z f 0 0 pg_node_tree_in pg_node_tree_out pg_node_tree_recv pg_node_tree_send i x 100',
  '199 _json -1 f b A f 114 0 array_in array_out array_recv array_send i x 0',
  '700 float4 4 t b N f 0 1021 float4in float4out float4recv float4send i p 0',
  '701 float8 8 t b N t 0 1022 float8in float8out float8recv float8send d p 0',
  '705 unknown -2 f p X f 0 0 unknownin unknownout unknownrecv unknownsend c p 0',
  '869 inet -1 f b I t 0 1041 inet_in inet_out inet_recv inet_send i m 0',
  '1000 _bool -1 f b A f 16 0 array_in array_out array_recv array_send i x 0',
  '1001 _bytea -1 f b A f 17 0 array_in array_out array_recv array_send i x 0',
  '1002 _char -1 f b A f 18 0 array_in array_out array_recv array_send i x 0',
  '1003 _name -1 f b A f 19 0 array_in array_out array_recv array_send i x 950',
  '1005 _int2 -1 f b A f 21 0 array_in array_out array_recv array_send i x 0',
  '1006 _int2vector -1 f b A f 22 0 array_in array_out array_recv array_send i x 0',
  '1007 _int4 -1 f b A f 23 0 array_in array_out array_recv array_send i x 0',
  '1008 _regproc -1 f b A f 24 0 array_in array_out array_recv array_send i x 0',
  '1009 _text -1 f b A f 25 0 array_in array_out array_recv array_send i x 100',
  '1011 _xid -1 f b A f 28 0 array_in array_out array_recv array_send i x 0',
  '1013 _oidvector -1 f b A f 30 0 array_in array_out array_recv array_send i x 0',
  '1014 _bpchar -1 f b A f 1042 0 array_in array_out array_recv array_send i x 100',
  '1015 _varchar -1 f b A f 1043 0 array_in array_out array_recv array_send i x 100',
  '1016 _int8 -1 f b A f 20 0 array_in array_out array_recv array_send d x 0',
  '1021 _float4 -1 f b A f 700 0 array_in array_out array_recv array_send i x 0',
  '1022 _float8 -1 f b A f 701 0 array_in array_out array_recv array_send d x 0',
  '1028 _oid -1 f b A f 26 0 array_in array_out array_recv array_send i x 0',
  '1033 aclitem 12 f b U f 0 1034 aclitemin aclitemout - - i p 0',
  '1034 _aclitem -1 f b A f 1033 0 array_in array_out array_recv array_send i x 0',
  '1041 _inet -1 f b A f 869 0 array_in array_out array_recv array_send i x 0',
  '1042 bpchar -1 f b S f 0 1014 bpcharin bpcharout bpcharrecv bpcharsend i x 100',
  '1043 varchar -1 f b S f 0 1015 varcharin varcharout varcharrecv varcharsend i x 100',
  '1082 date 4 t b D f 0 1182 date_in date_out date_recv date_send i p 0',
  '1083 time 8 t b D f 0 1183 time_in time_out time_recv time_send d p 0',
  '1114 timestamp 8 t b D f 0 1115 timestamp_in timestamp_out timestamp_recv timestamp_send d p 0',
  '1115 _timestamp -1 f b A f 1114 0 array_in array_out array_recv array_send d x 0',
  '1182 _date -1 f b A f 1082 0 array_in array_out array_recv array_send i x 0',
  '1183 _time -1 f b A f 1083 0 array_in array_out array_recv array_send d x 0',
  '1184 timestamptz 8 t b D t 0 1185 timestamptz_in timestamptz_out timestamptz_recv timestamptz_send d p 0',
  '1185 _timestamptz -1 f b A f 1184 0 array_in array_out array_recv array_send d x 0',
  '1186 interval 16 f b T t 0 1187 interval_in interval_out interval_recv interval_send d p 0',
  '1187 _interval -1 f b A f 1186 0 array_in array_out array_recv array_send d x 0',
  '1231 _numeric -1 f b A f 1700 0 array_in array_out array_recv array_send i x 0',
  '1263 _cstring -1 f b A f 2275 0 array_in array_out array_recv array_send i x 0',
  '1700 numeric -1 f b N f 0 1231 numeric_in numeric_out numeric_recv numeric_send i m 0',
  '2202 regprocedure 4 t b N f 0 2207 regprocedurein regprocedureout regprocedurerecv regproceduresend i p 0',
  '2205 regclass 4 t b N f 0 2210 regclassin regclassout regclassrecv regclasssend i p 0',
  '2206 regtype 4 t b N f 0 2211 regtypein regtypeout regtyperecv regtypesend i p 0',
  '2210 _regclass -1 f b A f 2205 0 array_in array_out array_recv array_send i x 0',
  '2211 _regtype -1 f b A f 2206 0 array_in array_out array_recv array_send i x 0',
  '2249 record -1 f p P f 0 2287 record_in record_out record_recv record_send d x 0',
  '2275 cstring -2 f p P f 0 1263 cstring_in cstring_out cstring_recv cstring_send c p 0',
  '2276 any 4 t p P f 0 0 any_in any_out - - i p 0',
  '2277 anyarray -1 f p P f 0 0 anyarray_in anyarray_out anyarray_recv anyarray_send d x 0',
  '2278 void 4 t p P f 0 0 void_in void_out void_recv void_send i p 0',
  '2279 trigger 4 t p P f 0 0 trigger_in trigger_out - - i p 0',
  '2281 internal 8 t p P f 0 0 internal_in internal_out - - d p 0',
  '2283 anyelement 4 t p P f 0 0 anyelement_in anyelement_out - - i p 0',
  '2287 _record -1 f p P f 2249 0 array_in array_out array_recv array_send d x 0',
  '2950 uuid 16 f b U f 0 2951 uuid_in uuid_out uuid_recv uuid_send c p 0',
  '2951 _uuid -1 f b A f 2950 0 array_in array_out array_recv array_send i x 0',
  '3220 pg_lsn 8 t b U f 0 3221 pg_lsn_in pg_lsn_out pg_lsn_recv pg_lsn_send d p 0',
  '3221 _pg_lsn -1 f b A f 3220 0 array_in array_out array_recv array_send d x 0',
  '3802 jsonb -1 f b U f 0 3807 jsonb_in jsonb_out jsonb_recv jsonb_send i x 0',
  '3807 _jsonb -1 f b A f 3802 0 array_in array_out array_recv array_send i x 0',
  '4089 regnamespace 4 t b N f 0 4090 regnamespacein regnamespaceout regnamespacerecv regnamespacesend i p 0',
  '4090 _regnamespace -1 f b A f 4089 0 array_in array_out array_recv array_send i x 0',
  '4096 regrole 4 t b N f 0 4097 regrolein regroleout regrolerecv regrolesend i p 0',
  '4097 _regrole -1 f b A f 4096 0 array_in array_out array_recv array_send i x 0',
];

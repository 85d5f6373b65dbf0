select
    plant_id,
    plant_name,
    city,
    country_code
from {{ ref('stg_erp__plants') }}

"""The one query the order import sends: a page of shipments with their order and inventory units."""

SHIPMENTS_QUERY = """
query Shipments($first: Int!, $after: String, $updatedSince: ISO8601DateTime) {
  shipments(first: $first, after: $after, updatedSince: $updatedSince) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      number
      state
      createdAt
      updatedAt
      order {
        id
        number
        email
        locale
        completedAt
        currency
        total
        shipAddress { firstName lastName company city zipCode country { iso } }
      }
      inventoryUnits {
        id
        state
        variant { id sku mpn price tradeId { number parser } product { name } }
      }
    }
  }
}
"""

# The API answers at most this many shipments a page.
MAX_PAGE_SIZE = 100
